"""Access exports end to end with real downstream systems: what goes in the ZIP, how it is
kept, and how the link behaves."""

import csv
import datetime as dt
import io
import json
import re
import zipfile

import pytest
import time_machine
from django.core import mail

from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.exports.models import Package
from dsar.fanout.models import DownstreamSystem
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


@pytest.fixture
def systems(shop_dsn, downstream):
    with __import__("psycopg").connect(shop_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN password_hash text")
        conn.execute("UPDATE customers SET password_hash = 'pbkdf2$secret'")
        conn.execute(
            "UPDATE customers SET name = '<script>alert(1)</script>' WHERE account = 'acct-1'"
        )
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["export"], categories=["transaction_records"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"export": [
            "SELECT name, account, password_hash FROM customers WHERE email = %(email)s",
        ]}}),
    )  # fmt: skip
    downstream.answers = [(200, {"rows": [{"order": "A-1", "total": 10, "fraud_score": 0.9}]})]
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["export"],
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip


def completed_access(email="li.lei@example.com"):
    request = create_request(type="access", email=email)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    mail.outbox.clear()
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    request.refresh_from_db()
    return request


def link_token(request) -> str:
    """The secret of the download link mailed to the subject (it rides in the fragment)."""
    [email] = [m for m in mail.outbox if m.to == [request.email] and "/exports/" in m.body]
    return re.search(r"/exports/#t=(\S+)", email.body).group(1)


def download(client, token: str, **headers):
    """What pressing Download on the link's page sends."""
    return client.post("/exports/", {"t": token}, headers=headers)


def content(response) -> bytes:
    """A streamed download's bytes (read to the end, as a browser does)."""
    return b"".join(response.streaming_content)


def jsonl(archive, name) -> list[dict]:
    return [json.loads(line) for line in archive.read(name).splitlines()]


def test_zip_holds_exactly_the_subjects_data(systems, client, export_dir):
    request = completed_access()
    assert request.status == Status.COMPLETED
    response = download(client, link_token(request))
    assert response.status_code == 200
    assert "li.lei" not in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert sorted(archive.namelist()) == sorted(
        ["shop/rows.jsonl", "shop/rows.csv", "crm/rows.jsonl", "crm/rows.csv", "index.html",
         "index.en.html", "README.txt"]
    )  # fmt: skip
    shop = jsonl(archive, "shop/rows.jsonl")
    assert shop == [{"name": "<script>alert(1)</script>", "account": "acct-1"}]  # not han.mei
    shop_csv = archive.read("shop/rows.csv").decode("utf-8-sig")
    assert list(csv.DictReader(io.StringIO(shop_csv))) == shop
    assert jsonl(archive, "crm/rows.jsonl") == [{"order": "A-1", "total": 10}]
    page = archive.read("index.html").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "password_hash" in page and "fraud_score" in archive.read("index.en.html").decode()
    everything = b"".join(archive.read(n) for n in archive.namelist())
    assert b"pbkdf2$secret" not in everything and b"han.mei" not in everything
    assert AuditEvent.objects.filter(action="export.downloaded").count() == 1


def test_the_stored_package_is_unreadable_without_the_key(systems, export_dir):
    completed_access()
    [stored] = list((export_dir / "packages").iterdir())
    raw = stored.read_bytes()
    assert not raw.startswith(b"PK") and b"acct-1" not in raw
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(raw))
    assert "li" not in stored.name


def test_link_wears_out_expires_and_refuses_forgeries(systems, client, export_dir):
    request = completed_access()
    token = link_token(request)
    statuses = []
    for _ in range(4):
        response = download(client, token)
        statuses.append(response.status_code)
        content(response) if response.streaming else None
    assert statuses == [200, 200, 200, 410]
    assert download(client, token[:-4] + "abcd").status_code == 404
    other = completed_access()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)):
        assert download(client, link_token(other)).status_code == 410
        from dsar.exports.services import purge_expired

        assert purge_expired() == 2
    assert list((export_dir / "packages").iterdir()) == []
    assert Package.objects.filter(deleted_at__isnull=True).count() == 0


def test_opening_the_link_downloads_nothing_until_download_is_pressed(systems, client, export_dir):
    """Mail scanners open links (some run scripts too): only the button's POST downloads."""
    request = completed_access()
    page = client.get("/exports/")  # the fragment with the token stays in the browser
    assert page.status_code == 200 and b'data-link-secret="t"' in page.content
    assert AuditEvent.objects.filter(action="export.downloaded").count() == 0
    assert content(download(client, link_token(request))).startswith(b"PK")
