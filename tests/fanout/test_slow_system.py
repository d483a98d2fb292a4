"""One slow downstream system next to a healthy one (issue 21, items 1 and 2): each outcome is
committed as its call returns, the reconciler sends each system's due tasks in messages of
their own, a batch stops before its time runs out without spending the rest's attempts,
``max_attempts`` holds at claim, and a claim's lease decides when a task is abandoned.

The slow system is a real HTTP server on 127.0.0.1 that sleeps longer than the system's
``timeout_seconds``: that delay is the system under test's slowness, not clock logic.
"""

import base64
import datetime as dt
import json
import os
import signal
from collections import Counter

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import dispatch, reconciler
from dsar.fanout.completion import STUCK_AFTER
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.downstream import peer
from tests.support.signing import SECRET
from tests.support.workers import until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]
SLOW_CALL = 1.6  # seconds the slow server takes per call, against a timeout of 1 s


@pytest.fixture
def published(monkeypatch):
    """Publish to the real Redis broker instead of running tasks in this process."""
    app.conf.task_always_eager  # noqa: B018 (loads the Django-namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    return broker


def queued(broker) -> list[list[str]]:
    """The task ids of each ``run_tasks`` message waiting in the broker's queue."""
    batches = []
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "dsar.fanout.tasks.run_tasks":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            batches.append(args[0])
    return batches


def system(name, peer_, *, timeout=5, **extra):
    return DownstreamSystem.objects.create(
        name=name, kind="http", actions=["delete"], timeout_seconds=timeout,
        config=json.dumps({"url": peer_.url, "secret": SECRET}), **extra,
    )  # fmt: skip


def approve(count):
    for i in range(count):
        request = create_request(type="deletion", email=f"s{i}@example.com")
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])


def calls(peer_) -> Counter:
    return Counter(body["idempotency_key"] for body in peer_.received)


def keys_of(system_) -> set[str]:
    return {str(k) for k in system_.tasks.values_list("idempotency_key", flat=True)}


def test_a_slow_system_holds_up_only_its_own_tasks_and_nothing_runs_twice(
    downstream, published, celery_worker, monkeypatch
):
    healthy = system("crm", downstream)
    with peer() as slow_peer:
        slow_peer.delay = SLOW_CALL
        slow = system("warehouse", slow_peer, timeout=1)
        approve(6)
        published.flushdb()  # the stages' messages are lost (a Redis restart, say)

        assert reconciler.reconcile() == 12
        batches = queued(published)
        by_system = [
            set(FanoutTask.objects.filter(pk__in=ids).values_list("system_id", flat=True))
            for ids in batches
        ]
        assert sorted(len(ids) for ids in batches) == [6, 6]
        assert sorted(by_system, key=min) == [{healthy.pk}, {slow.pk}]  # one message each

        worker = celery_worker()
        try:
            until(
                lambda: healthy.tasks.filter(status=TaskStatus.DONE).count() == 6,
                20,
                "the healthy system's tasks",
            )
            # ... while the slow system's message is still working through its own tasks.
            assert slow.tasks.filter(attempts=0).exists()
            until(
                lambda: slow.tasks.filter(status=TaskStatus.PENDING, attempts=1).count() == 6,
                30,
                "every slow call to time out and wait for its retry",
            )
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait()
        assert not RightsRequest.objects.filter(status=Status.COMPLETED).exists()

        # The system recovers; the beat's reconciler, a few minutes on, re-drives the retries
        # (here in this process, under the advanced clock).
        slow_peer.delay = 0
        monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", True)
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
            assert reconciler.reconcile() == 6
        assert set(FanoutTask.objects.values_list("status", flat=True)) == {TaskStatus.DONE}
        assert RightsRequest.objects.filter(status=Status.COMPLETED).count() == 6

    # The healthy system was called once per key; the slow one once that timed out and once
    # more, with the same key each time, so it acted on each once.
    assert calls(downstream) == Counter({key: 1 for key in keys_of(healthy)})
    assert calls(slow_peer) == Counter({key: 2 for key in keys_of(slow)})
    assert Counter(slow_peer.acted_on) == Counter({key: 1 for key in keys_of(slow)})


def test_each_outcome_is_committed_as_its_call_returns(downstream, published):
    crm = system("crm", downstream)
    approve(3)
    seen = []

    def committed_so_far(body):
        # The server's own thread and database connection: it sees committed rows only.
        seen.append(crm.tasks.filter(status=TaskStatus.DONE).count())
        connection.close()

    downstream.before_answer = committed_so_far
    ids = [str(pk) for pk in crm.tasks.values_list("pk", flat=True)]
    statuses = dispatch.run_tasks(ids)
    assert set(statuses.values()) == {TaskStatus.DONE}
    assert seen == [0, 1, 2]  # each call found the ones before it already recorded


def test_a_batch_out_of_time_sends_the_rest_again_without_spending_their_attempts(published):
    with peer() as slow_peer:
        slow_peer.delay = SLOW_CALL
        slow = system("warehouse", slow_peer, timeout=1)
        approve(4)
        published.flushdb()
        first, *rest = [str(pk) for pk in slow.tasks.order_by("request_id", "pk")
                        .values_list("pk", flat=True)]  # fmt: skip

        # The first call times out after 1 s; a second could end after the 1.5 s budget.
        statuses = dispatch.run_tasks([first, *rest], budget=1.5)

    assert statuses == {first: TaskStatus.PENDING}  # a retry after its backoff
    assert slow.tasks.get(pk=first).attempts == 1
    assert set(slow.tasks.filter(pk__in=rest).values_list("status", "attempts")) == {
        (TaskStatus.PENDING, 0)
    }
    assert queued(published) == [rest]  # they go out again at once, in one message
    assert len(slow_peer.received) == 1


def test_a_task_whose_attempts_are_used_up_fails_at_claim_instead_of_running(downstream, published):
    crm = system("crm", downstream, max_attempts=3)
    approve(1)
    task = crm.tasks.get()
    FanoutTask.objects.filter(pk=task.pk).update(attempts=3)  # e.g. re-driven after a crash

    assert dispatch.run_task(task.pk) == TaskStatus.FAILED
    task.refresh_from_db()
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 3)
    assert task.last_error == "no attempts left (3 of 3 used)"
    assert downstream.received == []
    assert AuditEvent.objects.filter(action="fanout.failed", request_id=task.request_id).exists()


def test_the_reconciler_re_drives_a_claim_once_its_lease_has_passed(downstream, published):
    crm = system("crm", downstream, timeout=5)
    approve(3)
    live, expired, unleased = crm.tasks.order_by("pk")
    claimed_at = timezone.now()
    lease = dispatch.lease_for(crm, claimed_at)
    assert lease == claimed_at + dt.timedelta(seconds=5) + dispatch.LEASE_MARGIN
    FanoutTask.objects.filter(pk=live.pk).update(
        status=TaskStatus.RUNNING, attempts=1, updated_at=claimed_at, lease_until=lease
    )
    FanoutTask.objects.filter(pk=expired.pk).update(
        status=TaskStatus.RUNNING, attempts=1, updated_at=claimed_at - dt.timedelta(minutes=1),
        lease_until=claimed_at - dt.timedelta(seconds=1),
    )  # fmt: skip
    FanoutTask.objects.filter(pk=unleased.pk).update(  # claimed before leases existed
        status=TaskStatus.RUNNING, attempts=1, updated_at=claimed_at, lease_until=None
    )
    published.flushdb()

    with time_machine.travel(claimed_at, tick=False):
        assert reconciler.reconcile() == 1
    assert queued(published) == [[str(expired.pk)]]
    expired.refresh_from_db()
    assert (expired.status, expired.attempts, expired.lease_until) == (
        TaskStatus.PENDING, 1, None,
    )  # fmt: skip
    assert expired.next_attempt_at == claimed_at - dt.timedelta(minutes=1)  # due for any clock
    assert FanoutTask.objects.get(pk=live.pk).status == TaskStatus.RUNNING
    assert FanoutTask.objects.get(pk=unleased.pk).status == TaskStatus.RUNNING

    with time_machine.travel(lease + dt.timedelta(seconds=1), tick=False):
        reconciler.reconcile()
    assert FanoutTask.objects.get(pk=live.pk).status == TaskStatus.PENDING
    assert FanoutTask.objects.get(pk=unleased.pk).status == TaskStatus.RUNNING
    with time_machine.travel(claimed_at + STUCK_AFTER + dt.timedelta(seconds=1), tick=False):
        reconciler.reconcile()
    assert FanoutTask.objects.get(pk=unleased.pk).status == TaskStatus.PENDING


def test_a_claim_holds_a_lease_and_its_outcome_ends_it(downstream, published):
    crm = system("crm", downstream, timeout=4)
    approve(1)
    task = crm.tasks.get()
    during = []

    def lease_while_called(body):
        during.append(FanoutTask.objects.get(pk=task.pk).lease_until)
        connection.close()

    downstream.before_answer = lease_while_called
    before = timezone.now()
    assert dispatch.run_task(task.pk) == TaskStatus.DONE
    [lease] = during
    assert before + dt.timedelta(seconds=4) + dispatch.LEASE_MARGIN <= lease
    assert lease <= timezone.now() + dt.timedelta(seconds=4) + dispatch.LEASE_MARGIN
    task.refresh_from_db()
    assert task.lease_until is None
