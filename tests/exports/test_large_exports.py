"""A subject with 200,000 rows, exported from a real PostgreSQL and a real MariaDB through a
data map: every row lands in the ZIP once, the CSV and JSON Lines files agree, and the other
rider's rows stay out."""

import csv
import io
import json
import zipfile

import pytest

from dsar.exports.models import ExportPart
from dsar.exports.package import csv_cell
from dsar.fanout.models import DownstreamSystem, FanoutTask
from tests.exports.test_packages import completed_access, content, download, link_token
from tests.support import rides

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 200_000


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")


@pytest.fixture(params=["postgresql", "mariadb"])
def rides_dsn(request):
    with rides.rides_database(request.param) as dsn:
        rides.load(request.param, dsn, ROWS)
        yield dsn


def csv_rows(archive, name) -> list[list[str]]:
    raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def as_cells(row: dict, columns: list[str]) -> list[str]:
    """A JSON Lines row as the CSV must show it (formula-escaped, as text)."""
    return ["" if row.get(c) is None else str(csv_cell(row[c])) for c in columns]


def test_every_row_of_a_large_subject_is_in_the_zip_once(rides_dsn, client):
    DownstreamSystem.objects.create(
        name="rides", kind="sql", actions=["export"], categories=["location"],
        config=json.dumps({"dsn": rides_dsn, "map": rides.RIDES_MAP}),
    )  # fmt: skip
    request = completed_access(email=rides.SUBJECT)
    task = FanoutTask.objects.get(request=request, action="export")
    expected = rides.counts(ROWS)
    assert task.result["rows"] == sum(expected.values())
    assert ExportPart.objects.get(task=task).row_count == sum(expected.values())

    archive = zipfile.ZipFile(io.BytesIO(content(download(client, link_token(request)))))
    trips = None
    for table, count in expected.items():
        lines = [json.loads(line) for line in archive.read(f"rides/{table}.jsonl").splitlines()]
        ids = [row["id"] for row in lines]
        assert len(ids) == count and len(set(ids)) == count  # every row, once
        [header, *cells] = csv_rows(archive, f"rides/{table}.csv")
        assert header == list(lines[0])
        assert cells == [as_cells(row, header) for row in lines]  # the two files agree
        if table == "trips":
            trips = set(ids)
            assert {row["rider_email"] for row in lines} == {rides.SUBJECT}
        if table == "location_points":
            assert {row["trip_id"] for row in lines} <= trips  # none of the other rider's
            assert '\'=HYPERLINK("x")' in {row[-1] for row in cells}
        if table == "messages":
            assert {row["sender_email"] for row in lines} == {rides.SUBJECT}
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert rides.OTHER.encode() not in everything
    page = archive.read("index.en.html").decode()
    assert f"Records: {expected['location_points']}" in page
    assert page.count("<tr>") <= 3 * (5 + 1)  # the first rows only, not 200,000
