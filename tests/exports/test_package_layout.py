"""The package's files read right: each table under its own headings, a page that fits a phone,
CSV that a spreadsheet opens with Chinese text intact."""

import io
import re
import zipfile

import pytest

from dsar.exports.package import SystemData, build_zip

# The package reads one row: the company's branding, for its README and index pages.
pytestmark = pytest.mark.django_db

SHOP = SystemData.from_rows(
    name="shop",
    categories=[],
    rows=[
        {"table": "customers", "name": "李雷", "email": "li.lei@example.com"},
        {"table": "orders", "order_no": "A-1", "total": 10},
    ],
    excluded=[],
)
CRM = SystemData.from_rows(name="crm", categories=[], rows=[{"note": "VIP"}], excluded=[])


def archive() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(build_zip(reference="DSAR-2026-000001", systems=[SHOP, CRM])))


def tables(html: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each table's headings and its rows of cells."""
    found = []
    for table in re.findall(r"<table>(.*?)</table>", html, re.S):
        heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)
        rows = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", table)]
        found.append((heads, [r for r in rows if r]))
    return found


def test_each_table_of_a_system_gets_its_own_headings():
    html = archive().read("index.en.html").decode()
    assert tables(html) == [
        (["name", "email"], [["李雷", "li.lei@example.com"]]),
        (["order_no", "total"], [["A-1", "10"]]),
        (["note"], [["VIP"]]),
    ]
    assert "customers" in html and "orders" in html


def test_index_pages_have_a_viewport():
    zipped = archive()
    for page in ("index.html", "index.en.html"):
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
            zipped.read(page).decode()
        )


def test_csv_is_utf8_with_a_byte_order_mark():
    raw = archive().read("shop/customers.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "李雷" in raw.decode("utf-8-sig")
