"""The fan-out engine against real peers: a second PostgreSQL database and an HTTP server."""

import datetime as dt
import json
import time

import pytest
import requests as http
import time_machine

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import reconciler, services
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import Outcome, RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.shop import shop_rows
from tests.support.signing import SECRET, signed_headers

pytestmark = pytest.mark.django_db(transaction=True)


def approved_deletion(email="li.lei@example.com", account_id="acct-1"):
    request = create_request(type="deletion", email=email, account_id=account_id)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])  # approved
    request.refresh_from_db()
    return request


def sql_shop(dsn, **extra):
    config = {
        "dsn": dsn,
        "statements": {
            "delete": [
                "DELETE FROM orders WHERE email = %(email)s",
                "DELETE FROM customers WHERE email = %(email)s OR account = %(account_id)s",
            ]
        },
    }
    return DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["delete"], config=json.dumps(config), **extra
    )


def http_system(downstream, **extra):
    config = {"url": downstream.url, "secret": SECRET}
    return DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"], config=json.dumps(config),
        timeout_seconds=1, **extra,
    )  # fmt: skip


def test_no_downstream_system_completes_at_once():
    request = approved_deletion()
    assert (request.status, request.outcome) == (Status.COMPLETED, Outcome.FULL)


def test_sql_deletes_the_subjects_rows_and_nothing_else(shop_dsn):
    sql_shop(shop_dsn)
    request = approved_deletion()
    assert (request.status, request.outcome) == (Status.COMPLETED, Outcome.FULL)
    assert shop_rows(shop_dsn, "SELECT email FROM customers") == [("han.mei@example.com",)]
    assert shop_rows(shop_dsn, "SELECT email, total FROM orders") == [("han.mei@example.com", 30)]
    task = FanoutTask.objects.get()
    assert (task.status, task.attempts, task.result["affected"]) == (TaskStatus.DONE, 1, 3)


def test_sql_keys_are_parameters_not_sql(shop_dsn):
    sql_shop(shop_dsn)
    approved_deletion(email="nobody@example.com", account_id="x' OR '1'='1")
    assert len(shop_rows(shop_dsn, "SELECT * FROM customers")) == 2


def test_http_200_is_done_and_signed(downstream):
    http_system(downstream)
    request = approved_deletion()
    assert request.status == Status.COMPLETED
    [body] = downstream.received
    assert body["subject"]["email"] == "li.lei@example.com" and body["action"] == "delete"
    assert downstream.bad_signatures == 0
    assert body["idempotency_key"] == str(FanoutTask.objects.get().idempotency_key)


def test_http_500_then_200_is_retried_with_backoff(downstream):
    http_system(downstream)
    downstream.answers = [(500, {}), (200, {})]
    start = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        request = approved_deletion()
        task = FanoutTask.objects.get()
        assert (task.status, task.attempts, task.last_error) == (TaskStatus.PENDING, 1, "HTTP 500")
        assert start + dt.timedelta(seconds=15) <= task.next_attempt_at
        assert task.next_attempt_at <= start + dt.timedelta(seconds=30)
        assert reconciler.reconcile() == 0  # not due yet
        clock.shift(dt.timedelta(seconds=31))
        assert reconciler.reconcile() == 1
    task.refresh_from_db()
    request.refresh_from_db()
    assert (task.status, task.attempts) == (TaskStatus.DONE, 2)
    assert request.status == Status.COMPLETED
    assert len(downstream.acted_on) == 1  # the same idempotency key both times


def test_http_timeouts_are_retried_until_max_attempts_then_fail(downstream):
    import threading

    http_system(downstream, max_attempts=2)
    downstream.block = threading.Event()  # the server holds every answer past our timeout
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=True) as clock:
        request = approved_deletion()
        clock.shift(dt.timedelta(minutes=5))
        reconciler.reconcile()
    task = FanoutTask.objects.get()
    assert (task.status, task.attempts, task.last_error) == (TaskStatus.FAILED, 2, "timed out")
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PROCESSING


def test_http_400_fails_with_the_reason_and_staff_can_retry(downstream, staff_user):
    system = http_system(downstream)
    downstream.answers = [(400, {"error": "unknown field"}), (200, {})]
    request = approved_deletion()
    task = FanoutTask.objects.get()
    assert task.status == TaskStatus.FAILED and "HTTP 400" in task.last_error
    assert task.attempts == 1
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PROCESSING
    with pytest.raises(Exception, match="does not allow"):
        services.retry(request=request, user=staff_user("legal"), system_id=system.pk)
    assert services.retry(request=request, user=staff_user("agent"), system_id=system.pk) == 1
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def signed_callback(client, task, body: dict, *, secret=SECRET, timestamp=None, tamper=None):
    raw = json.dumps(body).encode()
    headers = signed_headers(raw, secret=secret, timestamp=timestamp)
    if tamper:
        raw = tamper(raw)
    return client.post(
        f"/api/v1/callbacks/{task.pk}/",
        raw,
        content_type="application/json",
        HTTP_X_DSAR_TIMESTAMP=headers["X-DSAR-Timestamp"],
        HTTP_X_DSAR_SIGNATURE=headers["X-DSAR-Signature"],
    )


def test_http_202_then_signed_callback_completes(downstream, client):
    http_system(downstream)
    downstream.answers = [(202, {})]
    request = approved_deletion()
    task = FanoutTask.objects.get()
    assert task.status == TaskStatus.WAITING
    assert downstream.received[0]["callback_url"].endswith(f"/api/v1/callbacks/{task.pk}/")
    body = {"idempotency_key": str(task.idempotency_key), "status": "done"}
    response = signed_callback(client, task, body)
    assert response.status_code == 200, response.content
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED
    assert signed_callback(client, task, body).status_code == 409  # a replay changes nothing


def test_a_callback_that_overtakes_our_recording_of_the_202_still_completes(
    downstream, live_server, settings
):
    # The peer calls back before it has even answered 202: our worker is still waiting for
    # that answer, so the task is running, not yet waiting.
    settings.DSAR_PUBLIC_BASE_URL = live_server.url
    http_system(downstream)
    downstream.answers = [(202, {})]
    answered = []

    def call_back_first(body):
        raw = json.dumps({"idempotency_key": body["idempotency_key"], "status": "done"}).encode()
        headers = {"Content-Type": "application/json", **signed_headers(raw)}
        answer = http.post(body["callback_url"], data=raw, headers=headers, timeout=10)
        answered.append(answer.status_code)

    downstream.before_answer = call_back_first
    request = approved_deletion()
    assert answered == [200]
    task = FanoutTask.objects.get()
    assert (task.status, task.attempts) == (TaskStatus.DONE, 1)  # the late 202 was skipped
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED


@pytest.mark.parametrize(
    ("case", "expected"),
    [("bad_secret", 401), ("stale", 401), ("altered", 401), ("other_task", 409)],
)
def test_forged_callbacks_are_refused_and_change_nothing(downstream, client, case, expected):
    http_system(downstream)
    downstream.answers = [(202, {})]
    approved_deletion()
    task = FanoutTask.objects.get()
    body = {"idempotency_key": str(task.idempotency_key), "status": "done"}
    kwargs = {
        "bad_secret": {"secret": "guess"},
        "stale": {"timestamp": int(time.time()) - 3600},
        "altered": {"tamper": lambda raw: raw.replace(b'"done"', b'"failed"')},
        "other_task": {},
    }[case]
    if case == "other_task":
        body["idempotency_key"] = "00000000-0000-4000-8000-000000000000"
    response = signed_callback(client, task, body, **kwargs)
    assert response.status_code == expected
    task.refresh_from_db()
    assert task.status == TaskStatus.WAITING


def test_staff_see_the_failed_task_and_retry_it_from_the_page(downstream, client, staff_user):
    http_system(downstream)
    downstream.answers = [(400, {"error": "no"}), (200, {})]
    request = approved_deletion()
    client.force_login(staff_user("agent"))
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "HTTP 400" in page and f"/staff/requests/{request.pk}/retry/" in page
    system = DownstreamSystem.objects.get()
    client.post(f"/staff/requests/{request.pk}/retry/", {"system": system.pk})
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def shop_with_check(dsn):
    config = {
        "dsn": dsn,
        "statements": {
            "check": [
                "SELECT 'open_order' AS obligation FROM orders "
                "WHERE email = %(email)s AND total <= 20",  # li.lei has two, han.mei none
                "SELECT email FROM customers WHERE account = %(account_id)s",
            ],
            "close_account": "UPDATE customers SET name = 'closed' WHERE email = %(email)s",
            "delete": "DELETE FROM customers WHERE email = %(email)s",
        },
    }
    return DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check", "close_account", "delete"],
        config=json.dumps(config),
    )  # fmt: skip


def test_open_orders_reported_by_check_block_cancellation_until_legal_overrides(
    shop_dsn, staff_user
):
    from django.core.exceptions import PermissionDenied

    from dsar.fanout.rechecks import ChecksPending
    from dsar.legal.decisions import override_finding
    from dsar.legal.models import Finding
    from dsar.staff import services as staff_services
    from dsar.workflow.transitions import TransitionError

    shop_with_check(shop_dsn)
    request = create_request(type="cancellation", email="li.lei@example.com", account_id="acct-1")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    check = FanoutTask.objects.get(action="check")
    assert check.status == TaskStatus.DONE
    finding = Finding.objects.get(request=request, check_name="open_obligations")
    assert finding.blocks
    agent = staff_user("agent")
    with pytest.raises(ChecksPending):  # the shop is asked again first (tests/fanout/test_rechecks)
        staff_services.approve(request=request, user=agent)
    with pytest.raises(TransitionError):  # its fresh answer: the orders are still open
        staff_services.approve(request=request, user=agent)
    finding = Finding.objects.get(request=request, check_name="open_obligations")
    with pytest.raises(PermissionDenied):
        override_finding(finding=finding, user=agent, reason="customer insists")
    override_finding(finding=finding, user=staff_user("legal"), reason="Orders refunded")
    staff_services.approve(request=request, user=agent)
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COOLING_OFF


def test_no_open_orders_no_blocking_finding(shop_dsn):
    from dsar.legal.models import Finding

    shop_with_check(shop_dsn)
    request = create_request(type="cancellation", email="han.mei@example.com", account_id="acct-2")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    assert FanoutTask.objects.get(action="check").status == TaskStatus.DONE
    assert not Finding.objects.filter(request=request, check_name="open_obligations").exists()


def test_after_a_completed_deletion_an_access_request_finds_nothing(shop_dsn):
    config = {
        "dsn": shop_dsn,
        "statements": {
            "delete": [
                "DELETE FROM orders WHERE email = %(email)s",
                "DELETE FROM customers WHERE email = %(email)s",
            ],
            "export": [
                "SELECT name, account FROM customers WHERE email = %(email)s",
                "SELECT total FROM orders WHERE email = %(email)s",
            ],
        },
    }
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["delete", "export"], config=json.dumps(config)
    )
    before = create_request(type="access", email="li.lei@example.com")
    transition(before, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(before, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    assert FanoutTask.objects.get(request=before).result["rows"] == 3  # 1 customer, 2 orders

    approved_deletion()
    after = create_request(type="access", email="li.lei@example.com")
    transition(after, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(after, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    task = FanoutTask.objects.get(request=after)
    assert (task.status, task.result["rows"]) == (TaskStatus.DONE, 0)


def test_http_202_without_a_callback_is_sent_again_with_the_same_key(downstream):
    http_system(downstream)
    downstream.answers = [(202, {})]
    start = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=True) as clock:
        approved_deletion()
        clock.move_to(start + dt.timedelta(hours=23))
        reconciler.reconcile()
        assert FanoutTask.objects.get().status == TaskStatus.WAITING
        clock.move_to(start + dt.timedelta(hours=25))
        reconciler.reconcile()  # chased: due again after its backoff
        clock.move_to(start + dt.timedelta(hours=26))
        reconciler.reconcile()
    task = FanoutTask.objects.get()
    assert (task.status, task.attempts) == (TaskStatus.WAITING, 2)
    assert [b["idempotency_key"] for b in downstream.received] == [str(task.idempotency_key)] * 2


def test_http_202_without_a_callback_fails_when_attempts_run_out(downstream):
    http_system(downstream, max_attempts=1)
    downstream.answers = [(202, {})]
    start = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=True) as clock:
        request = approved_deletion()
        clock.move_to(start + dt.timedelta(hours=25))
        reconciler.reconcile()
    task = FanoutTask.objects.get()
    assert (task.status, task.last_error) == (TaskStatus.FAILED, "no callback received")
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PROCESSING
