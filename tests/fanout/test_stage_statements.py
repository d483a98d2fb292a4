"""A request's stage, end to end in one batch (issue 21, item 7): what it costs the database,
and what happens when its worker dies between the last outcome and the completion.

Ten ``http`` systems share one real peer on 127.0.0.1. The stage's message is published to the
real broker and left there; the batch runs here, as a worker would run it.
"""

import datetime as dt
import json

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
# savepoints counted): the batch's reads, one claim, one statement per outcome (the next
# claim rides on it), then the completion's transaction.
STAGE_STATEMENTS = 25


@pytest.fixture
def published(monkeypatch):
    """Publish to the real Redis broker instead of running tasks in this process."""
    app.conf.task_always_eager  # noqa: B018 (loads the Django-namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def approved(downstream, *, email="s@example.com") -> RightsRequest:
    for i in range(SYSTEMS):
        DownstreamSystem.objects.get_or_create(
            name=f"system-{i}",
            defaults={"kind": "http", "actions": ["delete"],
                      "config": json.dumps({"url": downstream.url, "secret": SECRET})},
        )  # fmt: skip
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
