"""Running a fan-out task's attempt: claim it, call its system's connector, record the outcome.

A task is claimed with a conditional UPDATE (``pending`` → ``running``) so two deliveries of
the same message cannot both run it, and the connector call happens outside any transaction.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from dsar.fanout import ledger, lifecycle
from dsar.fanout.connectors import RETRY, Call, Outcome, SubjectKeys, connector_for
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import Action, FanoutTask, TaskStatus
from dsar.fanout.outcomes import record_outcomes
from dsar.fanout.recipients import confirm_url
from dsar.fanout.routing import changes_for

log = logging.getLogger(__name__)


def run_tasks(task_ids: list) -> dict[str, str]:
    """Run one attempt of each due task nobody else runs; return each one's new status.

    The connectors are called one after the other, outside any transaction; the outcomes
    are then recorded together (:func:`outcomes.record_outcomes`).
    """
    keys = {}  # per request and kind of action: the proof is read once per batch

    def keys_for(task: FanoutTask) -> SubjectKeys:
        scope = (task.request_id, task.action == Action.CHECK)
        if scope not in keys:
            keys[scope] = subject_keys(task.request, action=task.action)
        return keys[scope]

    return record_outcomes([(task, _call(task, keys_for(task))) for task in _claim(task_ids)])


def run_task(task_id) -> str:
    """Run one attempt of a task if it is due and nobody else runs it; return its status."""
    return run_tasks([task_id]).get(str(task_id), "skipped")


def _claim(task_ids: list) -> list[FanoutTask]:
    """``pending`` → ``running`` for the due tasks among ``task_ids`` that nobody else holds.

    Rows another worker has locked are skipped, not waited for; a task already running, done
    or not yet due is left alone, so two deliveries of the same message run each task once.
    """
    now = timezone.now()
    with transaction.atomic():
        tasks = list(
            FanoutTask.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("system", "request")
            .filter(pk__in=task_ids, status=TaskStatus.PENDING, next_attempt_at__lte=now)
            .order_by("pk")
        )
        lifecycle.move(
            [t.pk for t in tasks], frm={TaskStatus.PENDING}, to=TaskStatus.RUNNING,
            updated_at=now, attempts=F("attempts") + 1,
        )  # fmt: skip
    for task in tasks:
        task.status, task.updated_at, task.attempts = TaskStatus.RUNNING, now, task.attempts + 1
    return tasks


def _call(task: FanoutTask, keys: SubjectKeys) -> Outcome:
    system = task.system
    call = Call(
        config=system.settings,
        action=task.action,
        keys=keys,
        idempotency_key=str(task.idempotency_key),
        timeout=system.timeout_seconds,
        callback_url=callback_url(task),
        confirm_url=confirm_url(task),
        changes=changes_for(system, task.request) if task.action == Action.CORRECT else None,
        purposes=list(task.request.purposes) if task.action == Action.RESTRICT else None,
        record_in_ledger=ledger.writer(system),
    )
    try:
        return connector_for(system.kind).run(call)
    except Exception as exc:  # a connector bug must not leave the task running forever
        log.exception("connector %s crashed on task %s", system.kind, task.pk)
        return Outcome(RETRY, f"connector error: {type(exc).__name__}")


def callback_url(task: FanoutTask) -> str:
    """Where a system that answers 202 reports the task's result."""
    route = connector_for(task.system.kind).callback_route
    return settings.DSAR_PUBLIC_BASE_URL + reverse(route, args=[task.pk])
