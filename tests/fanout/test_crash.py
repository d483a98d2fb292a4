"""A real Celery worker killed with SIGKILL in the middle of a batch of deletions loses nothing:
a second worker and the reconciler finish every task, and the downstream system acts on each
idempotency key exactly once."""

import datetime as dt
import json
import os
import signal
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
BATCH = 24


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
    downstream.delay = 0.15  # each answer takes a moment, so the kill lands mid-batch
    for i in range(BATCH):
        request = create_request(type="deletion", email=f"s{i}@example.com")
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    assert FanoutTask.objects.filter(status=TaskStatus.PENDING).count() == BATCH, list(
        FanoutTask.objects.values_list("status", flat=True)
    )

    first = celery_worker()
    try:
        until(lambda: len(downstream.received) >= 4, 60, "the first worker to start")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    done_by_first = FanoutTask.objects.filter(status=TaskStatus.DONE).count()
    assert 0 < done_by_first < BATCH

    second = celery_worker()
    try:
        # Tasks the killed worker held are stuck "running" and their messages went with it;
        # the reconciler (beat, every minute) re-drives them once they are stuck long enough.
        later = timezone.now() + reconciler.STUCK_AFTER + dt.timedelta(seconds=1)
        with time_machine.travel(later, tick=True):
            reconciler.reconcile()
        until(
            lambda: FanoutTask.objects.exclude(status=TaskStatus.DONE).count() == 0,
            120,
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
