"""Cancellation: cooling-off with a withdraw link, then the work; a racing withdraw wins or loses
cleanly, never both."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from dsar.audit.models import AuditEvent
from dsar.audit.services import Actor
from dsar.fanout.cancellation import end_cooling_off
from dsar.staff import services as staff_services
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import TransitionError, transition

pytestmark = pytest.mark.django_db(transaction=True)
APPROVED = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def approved_cancellation(staff_user):
    request = create_request(type="cancellation", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    mail.outbox.clear()
    with time_machine.travel(APPROVED, tick=False):
        staff_services.approve(request=request, user=staff_user("agent"))
    return request


def test_approval_starts_cooling_off_and_tells_the_subject_how_to_withdraw(staff_user):
    request = approved_cancellation(staff_user)
    assert request.status == Status.COOLING_OFF
    assert request.cooling_off_ends_at == APPROVED + dt.timedelta(days=7)
    [email] = [m for m in mail.outbox if m.to == ["li.lei@example.com"]]
    assert f"/requests/{request.pk}/#t=" in email.body


def test_cooling_off_ends_into_processing_and_the_work(staff_user):
    request = approved_cancellation(staff_user)
    assert end_cooling_off(now=APPROVED + dt.timedelta(days=6, hours=23)) == 0
    assert end_cooling_off(now=APPROVED + dt.timedelta(days=7)) == 1
    request.refresh_from_db()
    assert request.status == Status.COMPLETED  # no downstream system: nothing left to do


def test_withdraw_racing_the_end_gives_exactly_one_final_state(staff_user):
    request = approved_cancellation(staff_user)
    barrier = threading.Barrier(2)
    results = {}

    def withdraw():
        try:
            barrier.wait()
            transition(
                RightsRequest.objects.get(pk=request.pk), to=Status.WITHDRAWN,
                actor=Actor.subject(),
            )  # fmt: skip
            results["withdraw"] = "applied"
        except TransitionError:
            results["withdraw"] = "refused"
        finally:
            connection.close()

    def end():
        try:
            barrier.wait()
            results["end"] = end_cooling_off(now=APPROVED + dt.timedelta(days=8))
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw), threading.Thread(target=end)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = RightsRequest.objects.get(pk=request.pk).status
    terminal = AuditEvent.objects.filter(
        request_id=request.pk, action="request.transition",
        to_status__in=[Status.WITHDRAWN, Status.COMPLETED],
    )  # fmt: skip
    assert terminal.count() == 1 and terminal.get().to_status == final
    if results["withdraw"] == "refused":
        assert final == Status.COMPLETED and results["end"] == 1
    else:
        assert final == Status.WITHDRAWN


def shop_system(dsn):
    import json

    from dsar.fanout.models import DownstreamSystem

    statements = {
        "check": "SELECT 'open_order' AS obligation FROM orders "
        "WHERE email = %(email)s AND total < 10",
        "close_account": "UPDATE customers SET name = 'closed' WHERE email = %(email)s",
        "delete": ["DELETE FROM orders WHERE email = %(email)s",
                   "DELETE FROM customers WHERE email = %(email)s"],
    }  # fmt: skip
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check", "close_account", "delete"],
        config=json.dumps({"dsn": dsn, "statements": statements}),
    )  # fmt: skip


def cooling_cancellation(email):
    from dsar.audit.models import ActorKind
    from tests.factories import ACTORS

    request = create_request(type="cancellation", email=email)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.COOLING_OFF, actor=ACTORS[ActorKind.STAFF])
    # Its seven days have passed (set, not travelled: psycopg's connect timeout misbehaves
    # under a travelled clock, and the checks below reach a real database).
    ended = timezone.now()  # after the check made at review
    RightsRequest.objects.filter(pk=request.pk).update(cooling_off_ends_at=ended)
    return RightsRequest.objects.get(pk=request.pk)


def test_end_of_cooling_off_checks_again_then_closes_before_deleting(shop_dsn):
    from dsar.fanout.models import FanoutTask, TaskStatus
    from tests.support.shop import shop_rows

    shop_system(shop_dsn)
    request = cooling_cancellation("han.mei@example.com")
    first_check = FanoutTask.objects.get(action="check")
    end_cooling_off()
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    check = FanoutTask.objects.get(action="check")
    assert check.finished_at >= request.cooling_off_ends_at
    assert check.idempotency_key != first_check.idempotency_key
    close = FanoutTask.objects.get(action="close_account")
    delete = FanoutTask.objects.get(action="delete")
    assert close.status == delete.status == TaskStatus.DONE
    assert close.finished_at <= delete.created_at
    assert shop_rows(shop_dsn, "SELECT email FROM customers") == [("li.lei@example.com",)]


def test_an_order_placed_during_cooling_off_holds_the_closure(shop_dsn):
    from dsar.fanout.models import FanoutTask
    from dsar.legal.models import Finding
    from tests.support.shop import shop_rows

    shop_system(shop_dsn)
    request = cooling_cancellation("han.mei@example.com")
    shop_rows(shop_dsn, "INSERT INTO orders (email, total) VALUES ('han.mei@example.com', 5) "
              "RETURNING id")  # fmt: skip
    assert end_cooling_off() == 0
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COOLING_OFF
    assert Finding.objects.get(request=request, check_name="open_obligations").blocks
    assert not FanoutTask.objects.filter(action__in=["close_account", "delete"]).exists()
    assert shop_rows(shop_dsn, "SELECT name FROM customers WHERE account = 'acct-2'") == [("Han",)]
