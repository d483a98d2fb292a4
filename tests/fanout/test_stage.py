"""A request's stage, end to end in one batch (issue 21, item 7): what it costs the database,
when its outcomes commit, how its claims' leases cover each call, and what happens when its
worker dies between the last outcome and the completion.

The systems are ``http`` systems on real peers on 127.0.0.1 (a slow one sleeps: that is the
system's slowness under test, not a clock wait). The stage's message is published to the real
broker and left there; the batch runs here, as a worker would run it.
"""

import datetime as dt
import json
import time

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app
from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import dispatch, reconciler
from dsar.fanout.completion import COMPLETION_GRACE
from dsar.fanout.connectors import DONE, Outcome
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.outcomes import record
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db(transaction=True)
SYSTEMS = 10
# Statements one stage of ten tasks sends, its completion included (BEGIN, COMMIT and
# savepoints counted): the batch's two reads, the claims, the subject's proof (its latest
# verification; a request with an email only gives the dry runs nothing to link), the outcomes
# with their events in one statement, then the completion's transaction (7).
STAGE_STATEMENTS = 12


@pytest.fixture
def published(monkeypatch):
    """Publish to the real Redis broker instead of running tasks in this process."""
    app.conf.task_always_eager  # noqa: B018 (loads the Django-namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def systems(downstream, count=SYSTEMS, **fields):
    for i in range(count):
        DownstreamSystem.objects.get_or_create(
            name=f"system-{i}",
            defaults={"kind": "http", "actions": ["delete"],
                      "config": json.dumps({"url": downstream.url, "secret": SECRET}), **fields},
        )  # fmt: skip


def approved(downstream, *, email="s@example.com") -> RightsRequest:
    systems(downstream)
    return approve(email)


def approve(email="s@example.com") -> RightsRequest:
    request = create_request(type="deletion", email=email)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    return request


def notices_of(request) -> int:
    return OutboundEmail.objects.filter(request_id=request.pk, template="deletion_done").count()


def task_ids(request) -> list[str]:
    return [
        str(pk) for pk in FanoutTask.objects.filter(request=request).values_list("pk", flat=True)
    ]


def test_a_stage_of_ten_tasks_costs_a_bounded_number_of_statements(downstream, published):
    warm = approved(downstream, email="warm@example.com")  # a process's first batch warms caches
    dispatch.run_tasks(task_ids(warm))
    request = approved(downstream)
    ids = task_ids(request)
    assert len(ids) == SYSTEMS

    with CaptureQueriesContext(connection) as statements:
        statuses = dispatch.run_tasks(ids)

    assert statuses == dict.fromkeys(ids, TaskStatus.DONE)
    request.refresh_from_db()
    assert (request.status, request.outcome) == (Status.COMPLETED, "full")
    assert notices_of(request) == 1
    done = AuditEvent.objects.filter(request_id=request.pk, action="fanout.done")
    assert done.count() == SYSTEMS
    assert len(statements) <= STAGE_STATEMENTS, "\n".join(
        q["sql"][:120] for q in statements.captured_queries
    )
    keys = {str(k) for k in request.fanout_tasks.values_list("idempotency_key", flat=True)}
    assert keys <= set(downstream.acted_on)


def test_a_request_left_settled_by_a_dead_worker_completes_at_the_next_reconcile(
    downstream, published
):
    """The last outcome commits on its own and the completion follows in a transaction of its
    own; a worker that died in between leaves a settled request in processing, and the
    reconciler completes it once ``COMPLETION_GRACE`` has passed (within one period)."""
    request = approved(downstream)
    tasks = list(FanoutTask.objects.filter(request=request).select_related("system", "request"))
    now = timezone.now()
    for task in tasks:  # every outcome recorded, the completion never run
        FanoutTask.objects.filter(pk=task.pk).update(status=TaskStatus.RUNNING, attempts=1)
        task.status, task.attempts = TaskStatus.RUNNING, 1
        assert record(task, Outcome(DONE), settle=False).status == TaskStatus.DONE
    request.refresh_from_db()
    assert request.status == Status.PROCESSING

    with time_machine.travel(now + COMPLETION_GRACE / 2, tick=False):
        reconciler.reconcile()  # a live worker may still be completing it: left alone
    request.refresh_from_db()
    assert request.status == Status.PROCESSING

    with time_machine.travel(now + COMPLETION_GRACE + dt.timedelta(seconds=1), tick=False):
        reconciler.reconcile()
    request.refresh_from_db()
    assert (request.status, request.outcome) == (Status.COMPLETED, "full")
    assert notices_of(request) == 1
    assert dt.timedelta(minutes=1) > COMPLETION_GRACE  # one reconcile period


def test_a_stage_commits_its_outcomes_together_and_a_slow_calls_as_it_returns(
    downstream, published
):
    """Fast calls' outcomes wait for the group's commit; once the calls waiting have taken
    ``FLUSH_SECONDS`` (here one slow call) they are committed before the next call."""
    systems(downstream, count=3)
    request = approve()
    seen = []

    def committed_so_far(body):
        # The peer's own thread and database connection: it sees committed rows only.
        seen.append(request.fanout_tasks.filter(status=TaskStatus.DONE).count())
        connection.close()
        if len(seen) == 1:
            time.sleep(dispatch.FLUSH_SECONDS + 0.1)  # the first system is slow

    downstream.before_answer = committed_so_far
    statuses = dispatch.run_tasks(task_ids(request))

    assert set(statuses.values()) == {TaskStatus.DONE}
    assert seen == [0, 1, 1]  # the slow call's outcome was in before the second call
    request.refresh_from_db()
    assert request.status == Status.COMPLETED


def test_a_call_is_made_only_on_leases_that_cover_it(downstream, published, monkeypatch):
    """The group's claims share a lease; before each call the worker extends it if it might
    not cover the call, so a live worker's task is never re-driven under it."""
    monkeypatch.setattr(dispatch, "LEASE_MARGIN", dt.timedelta(seconds=0.3))
    monkeypatch.setattr(dispatch, "RENEW_AT", dt.timedelta(seconds=0.2))
    systems(downstream, count=2, timeout_seconds=1)
    request = approve()
    leases = []

    def lease_left(body):
        task = FanoutTask.objects.get(idempotency_key=body["idempotency_key"])
        leases.append(task.lease_until - timezone.now())
        connection.close()
        if len(leases) == 1:
            time.sleep(0.9)  # the first call takes most of its timeout

    downstream.before_answer = lease_left
    assert set(dispatch.run_tasks(task_ids(request)).values()) == {TaskStatus.DONE}

    timeout = dt.timedelta(seconds=1)
    assert len(leases) == 2
    assert all(left >= timeout for left in leases), leases  # the second's was extended
    assert set(request.fanout_tasks.values_list("lease_until", flat=True)) == {None}


def test_a_claim_taken_back_while_its_worker_stalled_is_not_called(downstream, published):
    """A worker that stalls past its claims' lease (here the clock jumps a minute during the
    first call) finds the reconciler took the group's tasks back: it extends nothing it lost,
    calls none of them, and its late outcome is skipped; the re-driven tasks run elsewhere."""
    systems(downstream, count=2)
    request = approve()
    stalled = time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=True)

    def stall(body):
        if len(downstream.received) == 1:
            stalled.start()
            assert reconciler.reconcile() == 2  # both leases passed: both re-driven
            connection.close()

    downstream.before_answer = stall
    try:
        statuses = dispatch.run_tasks(task_ids(request))
    finally:
        stalled.stop()

    first = downstream.received[0]["idempotency_key"]
    assert len(downstream.received) == 1  # the second task was not called on a lost claim
    assert statuses == {str(request.fanout_tasks.get(idempotency_key=first).pk): "skipped"}
    assert set(request.fanout_tasks.values_list("status", "attempts")) == {(TaskStatus.PENDING, 1)}
    assert not AuditEvent.objects.filter(request_id=request.pk, action="fanout.done").exists()
