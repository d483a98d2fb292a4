"""Outages under real processes (issue 21 item 3): the API answers 503 with its JSON error
shape and Retry-After, quickly, never an HTML page; with only the broker down, intake still
files the request, and its receipt and code go out once the broker is back."""

import threading
import time

import pytest
import requests as http
from rest_framework.authtoken.models import Token

from config.celery import app
from dsar.audit.models import AuditEvent
from dsar.notifications.models import EmailStatus, OutboundEmail
from dsar.verification.tasks import redrive_receipts
from dsar.workflow.models import RightsRequest, Status
from tests.support.outages import PrivatePostgres, PrivateRedis
from tests.support.servers import free_port, live_database_url
from tests.support.workers import until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
    pytest.mark.usefixtures("fresh_limits"),
]


def intake(base: str, n: int) -> http.Response:
    body = {"type": "deletion", "email": f"outage{n}@example.com", "full_name": "张三"}
    return http.post(f"{base}/api/v1/requests/", json=body, timeout=15)


def assert_unavailable(response: http.Response) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"]["code"] == "unavailable"
    assert set(response.json()["error"]) == {"code", "message"}


@pytest.fixture
def broker(monkeypatch):
    """A private redis-server as the broker of the servers and workers a test starts and of
    this process (which publishes the beat's job), the cache staying on the suite's Redis."""
    redis_server = PrivateRedis()
    redis_server.start()
    app.conf.task_always_eager  # noqa: B018 (loads the namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    monkeypatch.setattr(app.conf, "CELERY_BROKER_URL", redis_server.url)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield redis_server
    if redis_server.proc.poll() is None:
        redis_server.stop()


def test_intake_files_with_the_broker_down_and_the_code_goes_out_once_it_is_back(
    server_process, broker, celery_worker
):
    env = {"DATABASE_URL": live_database_url(), "CELERY_BROKER_URL": broker.url}
    base = server_process({**env, "DSAR_TEST_EAGER": "0"}).url
    broker.stop()

    started = time.monotonic()
    response = intake(base, 1)
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.text[:300]
    assert elapsed < 2.0
    request = RightsRequest.objects.get(pk=response.json()["id"])
    assert request.status == Status.PENDING_VERIFICATION
    assert request.receipt_pending  # its receipt and code are still to be written and sent
    messages = OutboundEmail.objects.filter(request_id=request.pk)

    broker.start()  # empty: the publish that failed is not in it
    celery_worker(**env)
    redrive_receipts.delay()  # what beat publishes every minute
    until(lambda: messages.filter(status=EmailStatus.SENT).count() == 2, 60, "the re-drive")
    assert {m.template for m in messages.all()} == {"receipt", "code"}
    sent = AuditEvent.objects.filter(request_id=request.pk, action="email.sent")
    assert sent.count() == 2


def test_redis_down_answers_503_json_quickly(server_process):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    base = server_process({"DATABASE_URL": live_database_url(), "REDIS_URL": dead}).url
    started = time.monotonic()
    response = intake(base, 2)
    assert time.monotonic() - started < 2.0
    assert_unavailable(response)
    assert not RightsRequest.objects.exists()


def test_an_unreachable_database_answers_503_json(server_process):
    dead = f"postgres://postgres:postgres@127.0.0.1:{free_port()}/dsar"
    base = server_process({"DATABASE_URL": dead}).url
    assert_unavailable(intake(base, 3))
    token = {"Authorization": "Token " + "0" * 40}  # authentication itself needs the database
    assert_unavailable(http.get(f"{base}/api/v1/staff/requests/", headers=token, timeout=15))


def test_a_database_restart_answers_503_json_with_retry_after_and_recovers(
    server_process, staff_user
):
    token = Token.objects.create(user=staff_user("supervisor")).key
    cluster = PrivatePostgres()
    try:
        cluster.start()
        database = cluster.copy_database(live_database_url(), "dsar")
        # Many intakes from one address in a few seconds: no rate limit in the way.
        env = {"DATABASE_URL": database, "DSAR_INTAKE_RATE_IP": "100000/hour"}
        base = server_process(env, workers=2).url
        assert intake(base, 10).status_code == 201  # the workers hold open connections now
        answers, stop = [], threading.Event()

        def client(n):
            while not stop.is_set():
                n += 100
                for response in (
                    intake(base, n),
                    http.get(
                        f"{base}/api/v1/staff/requests/",
                        headers={"Authorization": f"Token {token}"},
                        timeout=15,
                    ),
                ):
                    answers.append(response)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(2)]
        for thread in threads:
            thread.start()
        try:
            cluster.stop()
            down = [intake(base, 20), http.get(
                f"{base}/api/v1/staff/requests/", headers={"Authorization": f"Token {token}"},
                timeout=15,
            )]  # fmt: skip
            cluster.start()
            until(lambda: intake(base, 30).status_code == 201, 30, "intake after the restart")
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    finally:
        cluster.remove()
    for response in down:
        assert_unavailable(response)
        assert response.elapsed.total_seconds() < 2.0
    assert answers
    for response in answers:
        assert "html" not in response.headers.get("Content-Type", "")
        if response.status_code not in (200, 201):
            assert_unavailable(response)
