"""A real Celery worker killed with SIGKILL in the middle of a batch of deletions loses nothing:
the task it held is re-driven within one reconcile period (its claim's lease has passed), a
second worker finishes every task, and the downstream system acts on each idempotency key
exactly once."""

import datetime as dt
import json
import os
import signal
import threading
from collections import Counter

import pytest
import redis
import time_machine
from django.conf import settings
from django.utils import timezone

from config.celery import app
from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import reconciler
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.signing import SECRET
from tests.support.workers import until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]
BATCH = 12
RECONCILE_PERIOD = dt.timedelta(minutes=1)  # the beat's schedule of the reconciler


@pytest.fixture
def published(monkeypatch):
    """Publish to the real Redis broker instead of running tasks in this process."""
    app.conf.task_always_eager  # noqa: B018 (loads the Django-namespaced configuration)
    # Django settings are read with the CELERY_ namespace, so the namespaced key is the one.
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def test_killed_worker_loses_nothing_and_acts_once(downstream, published, celery_worker):
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"], timeout_seconds=5,
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    killed = threading.Event()
    first = None

    def kill_mid_call(body):
        # The fifth call: its task is claimed and running; its worker dies before the answer.
        if len(downstream.received) == 5 and not killed.is_set():
            os.killpg(first.pid, signal.SIGKILL)
            killed.set()

    downstream.before_answer = kill_mid_call
    for i in range(BATCH):
        request = create_request(type="deletion", email=f"s{i}@example.com")
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    assert FanoutTask.objects.filter(status=TaskStatus.PENDING).count() == BATCH, list(
        FanoutTask.objects.values_list("status", flat=True)
    )

    first = celery_worker()
    until(killed.is_set, 60, "the first worker to reach the fifth call")
    first.wait()
    killed_at = timezone.now()
    downstream.before_answer = None
    held = set(FanoutTask.objects.filter(status=TaskStatus.RUNNING).values_list("pk", flat=True))
    assert 1 <= len(held) <= 2  # what its two children were calling when it died
    done_by_first = FanoutTask.objects.filter(status=TaskStatus.DONE).count()
    assert 0 < done_by_first < BATCH  # each outcome was committed as its call returned

    reconciler.reconcile()  # a live claim is not taken away: the leases still hold
    assert (
        set(FanoutTask.objects.filter(status=TaskStatus.RUNNING).values_list("pk", flat=True))
        == held
    )

    second = celery_worker()
    try:
        # The beat's next run, one period later: the dead worker's leases have passed, so its
        # tasks are re-driven now (the messages it held went with it), not after 10 minutes.
        with time_machine.travel(killed_at + RECONCILE_PERIOD, tick=False):
            reconciler.reconcile()
            assert not FanoutTask.objects.filter(status=TaskStatus.RUNNING, pk__in=held).exists()
        until(
            lambda: FanoutTask.objects.exclude(status=TaskStatus.DONE).count() == 0,
            60,
            "every task to be done",
        )
        until(
            lambda: RightsRequest.objects.filter(status=Status.COMPLETED).count() == BATCH,
            60,
            "every request to complete",
        )
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait()

    acted = Counter(downstream.acted_on)
    assert len(acted) == BATCH and set(acted.values()) == {1}
    keys = {str(k) for k in FanoutTask.objects.values_list("idempotency_key", flat=True)}
    assert set(acted) == keys
    # Only the calls in flight at the kill were sent twice (same key, so acted on once). A
    # task the dead worker had claimed but not yet called was sent once, by the second.
    calls = Counter(body["idempotency_key"] for body in downstream.received)
    held_keys = {str(k) for k in FanoutTask.objects.filter(pk__in=held).values_list(
        "idempotency_key", flat=True)}  # fmt: skip
    resent = {key for key, n in calls.items() if n > 1}
    assert resent and resent <= held_keys  # the fifth call, at least, was in flight
    assert set(calls.values()) <= {1, 2}
