"""Download links cannot be replayed: a link seen by someone else (a forwarded email, a
proxy log, a shared computer) yields nothing once used up or expired, racing replays do not
beat the download limit, and a link cannot be edited into another subject's package."""

import base64
import datetime as dt
import json
import re
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client

from dsar.audit.models import AuditEvent
from dsar.audit.services import Actor
from dsar.exports.models import Package
from dsar.exports.services import purge_expired
from dsar.fanout.models import DownstreamSystem
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def shop(shop_dsn, settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    settings.DSAR_EXPORT_MAX_DOWNLOADS = 1
    statement = "SELECT name, account FROM customers WHERE email = %(email)s"
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["export"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"export": statement}}),
    )  # fmt: skip


def download_link(email: str) -> str:
    """Complete an access request for ``email``; the token of the link mailed to them (the
    link keeps it in its fragment, ``/exports/#t=<token>``)."""
    request = create_request(type="access", email=email)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    [message] = [m for m in mail.outbox if m.to == [email] and "/exports/" in m.body]
    return re.search(r"/exports/#t=(\S+)", message.body).group(1)


def fetch(client: Client, token: str):
    """Press Download on the link's page: the token goes in the POST body."""
    return client.post("/exports/", {"t": token})


def downloads() -> int:
    return AuditEvent.objects.filter(action="export.downloaded").count()


def test_used_up_link_replayed_by_someone_else_gets_nothing(client):
    token = download_link("li.lei@example.com")
    assert fetch(client, token).status_code == 200  # the subject
    replay = fetch(Client(), token)  # anyone else, later
    assert replay.status_code == 410
    assert not replay.content.startswith(b"PK") and b"acct-1" not in replay.content
    assert downloads() == 1


def test_racing_replays_of_a_last_download_get_one_copy():
    token = download_link("li.lei@example.com")
    statuses, start = [], threading.Barrier(6)

    def replay():
        start.wait()
        try:
            statuses.append(fetch(Client(), token).status_code)
        finally:
            connection.close()  # each thread opened its own database connection

    threads = [threading.Thread(target=replay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] + [410] * 5
    assert downloads() == 1


def test_expired_link_replayed_later_gets_nothing(client):
    token = download_link("li.lei@example.com")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
    with time_machine.travel(later):
        assert fetch(client, token).status_code == 410
        assert purge_expired() == 1
        assert fetch(client, token).status_code == 410
    assert downloads() == 0
    assert Package.objects.get().deleted_at is not None


def test_link_edited_to_name_another_package_is_404(client):
    """The token is the package id, signed: swapping in another id breaks the signature."""
    mine = download_link("li.lei@example.com")
    theirs = download_link("han.mei@example.com")
    their_package = Package.objects.get(request__reference__endswith="000002")
    their_part = theirs.split(":")[0]
    other_id = base64.urlsafe_b64encode(json.dumps(str(their_package.pk)).encode()).rstrip(b"=")
    assert other_id.decode() == their_part  # the id part, encoded as Django signs it
    _, *signature = mine.split(":")
    forged = ":".join([their_part, *signature])
    assert fetch(client, forged).status_code == 404
    assert downloads() == 0
    assert Package.objects.filter(downloads_left=1).count() == 2
