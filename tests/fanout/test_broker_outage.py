"""A Redis restart in the middle of a batch loses nothing: messages lost with Redis (or never
published while it was down) are re-driven from the task rows by the reconciler."""

import datetime as dt
import json
import os
import signal
from collections import Counter

import pytest
import time_machine
from django.utils import timezone

from config.celery import app
from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import reconciler
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.outages import PrivateRedis
from tests.support.signing import SECRET
from tests.support.workers import until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture
def broker(monkeypatch):
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


def approve(i):
    request = create_request(type="deletion", email=f"s{i}@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])


def test_redis_restart_mid_batch_loses_nothing(downstream, broker, celery_worker):
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"], timeout_seconds=5,
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    downstream.delay = 0.1
    worker = celery_worker(REDIS_URL=broker.url)
    try:
        for i in range(10):
            approve(i)
        until(lambda: len(downstream.received) >= 2, 60, "the worker to start on the batch")
        broker.stop()  # queued messages vanish with it
        for i in range(10, 16):
            approve(i)  # publishing fails; the rows are written all the same
        assert FanoutTask.objects.count() == 16
        broker.start()  # empty: every message it held is gone
        later = timezone.now() + reconciler.STUCK_AFTER + dt.timedelta(seconds=1)
        with time_machine.travel(later, tick=True):
            reconciler.reconcile()
        until(
            lambda: FanoutTask.objects.exclude(status=TaskStatus.DONE).count() == 0,
            120,
            "every task to be done",
        )
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    acted = Counter(downstream.acted_on)
    assert len(acted) == 16 and set(acted.values()) == {1}
