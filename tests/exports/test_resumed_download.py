"""A download cut off half-way and resumed with Range, against a real gunicorn: the pieces
make the whole ZIP, and one download is counted, not one per piece."""

import io
import re
import zipfile

import pytest
import requests as http

from dsar.audit.models import AuditEvent
from dsar.exports.models import Package
from dsar.fanout.models import DownstreamSystem
from tests.exports.test_packages import completed_access, link_token
from tests.support import rides
from tests.support.servers import live_database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(server_process, settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("resumed") / "exports"
    settings.DSAR_EXPORT_DIR = str(folder)  # the worker (this process) and the web share it
    running = server_process(
        {"DATABASE_URL": live_database_url(), "SECURE_COOKIES": "0",
         "DSAR_EXPORT_DIR": str(folder)}, workers=2,
    )  # fmt: skip
    return running.url


@pytest.fixture
def token():
    with rides.rides_database("postgresql") as dsn:
        rides.load("postgresql", dsn, 40_000)
        DownstreamSystem.objects.create(
            name="rides", kind="sql", actions=["export"],
            config=__import__("json").dumps({"dsn": dsn, "map": rides.RIDES_MAP}),
        )  # fmt: skip
        yield link_token(completed_access(email=rides.SUBJECT))


def press_download(session: http.Session, base: str, token: str, **headers) -> http.Response:
    """Open the link's page (for its CSRF token) and press Download; the body streams."""
    page = session.get(f"{base}/exports/").text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return session.post(f"{base}/exports/", data={"t": token, "csrfmiddlewaretoken": csrf},
                        headers=headers, stream=True)  # fmt: skip


def downloads() -> int:
    return AuditEvent.objects.filter(action="export.downloaded").count()


def test_a_download_cut_off_half_way_resumes_with_range_and_counts_once(server, token):
    session = http.Session()
    first = press_download(session, server, token)
    assert first.status_code == 200 and first.headers["Accept-Ranges"] == "bytes"
    size = int(first.headers["Content-Length"])
    assert size > 3 * 256 * 1024  # several sealed blocks: the resume starts inside one
    got = bytearray()
    for piece in first.iter_content(16 * 1024):
        got += piece
        if len(got) >= size // 2:
            break
    first.close()  # the connection drops half-way
    assert len(got) < size

    rest = press_download(session, server, token, Range=f"bytes={len(got)}-")
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {len(got)}-{size - 1}/{size}"
    got += rest.content
    assert len(got) == size
    archive = zipfile.ZipFile(io.BytesIO(bytes(got)))
    assert archive.testzip() is None  # every entry's CRC checks out
    assert len(archive.read("rides/location_points.jsonl").splitlines()) == 32_000

    package = Package.objects.get()
    assert downloads() == 1 and package.downloads_left == 2
    again = press_download(session, server, token)  # a whole new download counts again
    assert again.status_code == 200 and len(again.content) == size
    assert downloads() == 2


def test_a_range_past_the_end_is_416_and_counts_nothing(server, token):
    session = http.Session()
    answer = press_download(session, server, token, Range="bytes=999999999-")
    assert answer.status_code == 416
    assert re.fullmatch(r"bytes \*/\d+", answer.headers["Content-Range"])
    assert downloads() == 0
