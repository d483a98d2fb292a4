"""Forged downstream callbacks: an attacker on the network, or a rogue downstream system,
tries to mark another system's deletion as done. Every attempt is refused (401 for a bad
signature or time, 409 for a task it does not fit) and changes nothing at all."""

import datetime as dt
import json
import time
import uuid

import pytest
import requests as http
import time_machine

from dsar.audit.models import AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import services
from dsar.fanout.models import FanoutTask, TaskStatus
from dsar.notifications.models import EmailStatus, OutboundEmail
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.security.conftest import ROGUE_SECRET, waiting_task
from tests.support.servers import live_database_url
from tests.support.signing import SECRET, signed_headers
from tests.support.workers import until

pytestmark = pytest.mark.django_db(transaction=True)


def signed(task, *, secret=SECRET, timestamp=None, key=None, status="done") -> tuple:
    """The body and headers a system with ``secret`` would send for ``task``."""
    body = json.dumps({"idempotency_key": str(key or task.idempotency_key), "status": status})
    return body.encode(), signed_headers(body, secret=secret, timestamp=timestamp)


def post(client, task, raw: bytes, headers: dict):
    return client.post(
        f"/api/v1/callbacks/{task.pk}/", raw, content_type="application/json", headers=headers
    )


def live_server_url(server_process) -> str:
    """gunicorn on this test's database."""
    return server_process({"DATABASE_URL": live_database_url()}).url


def snapshot(task) -> tuple:
    """Everything a callback could change: the task row, its request, the audit trail."""
    row = FanoutTask.objects.values_list(
        "status", "attempts", "last_error", "finished_at", "updated_at"
    ).get(pk=task.pk)
    return row, RightsRequest.objects.get(pk=task.request_id).status, AuditEvent.objects.count()


def test_unsigned_callback_is_refused(client, crm):
    task = waiting_task()
    before = snapshot(task)
    raw, _ = signed(task)
    assert post(client, task, raw, {}).status_code == 401
    assert snapshot(task) == before


def test_callback_signed_with_a_guessed_secret_is_refused(client, crm):
    task = waiting_task()
    before = snapshot(task)
    assert post(client, task, *signed(task, secret="shop-secret")).status_code == 401
    assert snapshot(task) == before


def test_rogue_system_cannot_finish_another_systems_task(client, crm):
    """billing signs correctly with its own secret, but the task belongs to the CRM."""
    task = waiting_task()
    before = snapshot(task)
    assert post(client, task, *signed(task, secret=ROGUE_SECRET)).status_code == 401
    assert snapshot(task) == before


def test_altered_body_is_refused(client, crm):
    task = waiting_task()
    before = snapshot(task)
    raw, headers = signed(task, status="failed")
    forged = raw.replace(b'"failed"', b'"done"')
    assert forged != raw and post(client, task, forged, headers).status_code == 401
    assert snapshot(task) == before


def test_callback_held_back_past_five_minutes_is_stale(client, crm):
    task = waiting_task()
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now, tick=False) as clock:
        captured = signed(task)
        before = snapshot(task)
        clock.shift(dt.timedelta(minutes=5, seconds=1))
        assert post(client, task, *captured).status_code == 401
    assert snapshot(task) == before


def test_future_dated_callback_is_refused(client, crm):
    task = waiting_task()
    before = snapshot(task)
    assert post(client, task, *signed(task, timestamp=int(time.time()) + 3600)).status_code == 401
    assert snapshot(task) == before


def test_genuine_callback_for_one_task_cannot_finish_another(client, crm):
    """Same system, same secret: the idempotency key binds the callback to its own task."""
    mine, other = waiting_task(), waiting_task("han.mei@example.com")
    before = snapshot(other)
    assert post(client, other, *signed(mine)).status_code == 409
    assert snapshot(other) == before
    assert FanoutTask.objects.get(pk=mine.pk).status == TaskStatus.WAITING


def test_replayed_callback_changes_nothing(client, crm):
    task = waiting_task()
    genuine = signed(task)
    assert post(client, task, *genuine).status_code == 200
    assert RightsRequest.objects.get(pk=task.request_id).status == Status.COMPLETED
    after = snapshot(task)
    assert post(client, task, *genuine).status_code == 409
    assert post(client, task, *signed(task, status="failed")).status_code == 409
    assert snapshot(task) == after


def test_replay_over_real_http_is_refused(crm, server_process):
    """Through gunicorn, bytes exactly as they went over the wire the first time."""
    base = live_server_url(server_process)
    task = waiting_task()
    raw, headers = signed(task)
    url = f"{base}/api/v1/callbacks/{task.pk}/"
    headers = {**headers, "Content-Type": "application/json"}
    assert http.post(url, data=raw, headers=headers, timeout=30).status_code == 200
    # The completion notice goes out once the answer has (tasks run in the server here).
    notices = OutboundEmail.objects.filter(request_id=task.request_id)
    assert notices.exists()
    until(lambda: not notices.filter(status=EmailStatus.PENDING).exists(), 30, "the notice")
    after = snapshot(task)
    assert http.post(url, data=raw, headers=headers, timeout=30).status_code == 409
    forged = {**headers, "X-DSAR-Signature": "0" * 64}
    assert http.post(url, data=raw, headers=forged, timeout=30).status_code == 401
    assert snapshot(task) == after


@pytest.mark.parametrize("config", [{"secret": ""}, {}], ids=["empty-secret", "no-secret"])
def test_task_of_a_system_without_a_secret_cannot_be_called_back(crm, server_process, config):
    """A system whose secret was lost (an edit outside the registry's rules) can never
    authenticate a callback: a body signed with the empty key, as anyone could sign it, is
    refused through gunicorn and changes nothing."""
    task = waiting_task()
    crm.config = json.dumps({"url": json.loads(crm.config)["url"], **config})
    crm.save()
    before = snapshot(task)
    raw, headers = signed(task, secret="")
    answer = http.post(
        f"{live_server_url(server_process)}/api/v1/callbacks/{task.pk}/",
        data=raw, headers={**headers, "Content-Type": "application/json"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 401
    assert snapshot(task) == before
    assert FanoutTask.objects.get(pk=task.pk).status == TaskStatus.WAITING


def settled_task(downstream, answer: dict) -> FanoutTask:
    """A deletion the CRM answers 200 with ``answer`` as its whole body."""
    downstream.echo_key, downstream.answers = False, [(200, answer)]
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    return FanoutTask.objects.select_related("request").get(request=request)


def test_a_200_without_our_idempotency_key_is_not_taken_as_done(crm, downstream):
    """A peer that answers 200 to anything (a wrong URL, a default page, a stub) has not
    shown it handled this deletion: the task fails with a reason staff can act on."""
    task = settled_task(downstream, {"deleted": 1})
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 1)
    assert "idempotency key" in task.last_error
    assert task.request.status == Status.PROCESSING


def test_a_200_echoing_another_key_is_not_taken_as_done(crm, downstream):
    """An answer about some other request (a mixed-up or replayed response) settles nothing."""
    task = settled_task(downstream, {"idempotency_key": str(uuid.uuid4()), "deleted": 1})
    assert task.status == TaskStatus.FAILED and "another idempotency key" in task.last_error
    assert task.request.status == Status.PROCESSING


def test_staff_retry_settles_it_once_the_peer_echoes_the_key(crm, downstream, staff_user):
    """The way back from such a failure: fix the peer, retry; the same key is sent again."""
    task = settled_task(downstream, {"deleted": 1})
    downstream.echo_key = True
    assert services.retry(request=task.request, user=staff_user("agent"), system_id=crm.pk) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert RightsRequest.objects.get(pk=task.request_id).status == Status.COMPLETED
    assert {body["idempotency_key"] for body in downstream.received} == {str(task.idempotency_key)}
