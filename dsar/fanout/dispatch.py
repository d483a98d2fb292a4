"""Running fan-out tasks' attempts: claim each, call its system's connector, record the outcome.

A message carries task ids (a request's stage, or one system's due tasks from the
reconciler). Each task is claimed on its own with a conditional UPDATE (``pending`` →
``running``, counting the attempt, with a lease) just before its call, so two deliveries of
the same message cannot both run it, and its outcome is committed as soon as its call
returns: a slow or killed worker never holds finished work. The connector call happens
outside any transaction.

A claim holds a **lease** (``lease_until``): the system's ``timeout_seconds`` and
``LEASE_MARGIN``. Recording the outcome ends it; a lease that passed means the worker died
(SIGKILL, a hard time limit, a lost database), and the reconciler re-drives the task.

A batch stops claiming once the next call might end after ``BATCH_SECONDS`` (well below
Celery's hard time limit); the tasks it did not reach were never claimed, so they stay
``pending`` with no attempt spent, and go out again in a new message.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from dsar.exports import services as exports
from dsar.fanout import ledger, lifecycle
from dsar.fanout.checkpoints import CacheCheckpoint
from dsar.fanout.connectors import DONE, FAILED, RETRY, Call, Outcome, SubjectKeys, connector_for
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import Action, FanoutTask, TaskStatus
from dsar.fanout.outcomes import record_outcomes
from dsar.fanout.publishing import publish
from dsar.fanout.recipients import confirm_url
from dsar.fanout.routing import changes_for

log = logging.getLogger(__name__)

# A claim outlives its call by this much before the reconciler presumes the worker dead.
LEASE_MARGIN = dt.timedelta(seconds=15)
# A batch claims no task whose call might end later than this after the batch began
# (Celery's soft/hard time limits are 240/300 s).
BATCH_SECONDS = 120.0


def lease_for(system, now: dt.datetime) -> dt.datetime:
    """Until when a claim on a task of ``system`` made at ``now`` holds."""
    return now + dt.timedelta(seconds=system.timeout_seconds) + LEASE_MARGIN


def run_tasks(task_ids: list, *, budget: float = BATCH_SECONDS) -> dict[str, str]:
    """Run one attempt of each due task nobody else runs; return each one's new status.

    Tasks are claimed one by one, each just before its call (in the commit of the previous
    one's outcome), and each outcome is committed when its call returns. A task whose
    system's ``max_attempts`` are used up fails at claim instead of running. Once the next
    call might end after ``budget`` seconds, the unclaimed rest are published again (still
    pending, no attempt spent). A request is moved on in the transaction of the outcome of
    the last of its tasks in this batch.
    """
    began = time.monotonic()
    keys = {}  # per request and kind of action: the proof is read once per batch

    def keys_for(task: FanoutTask) -> SubjectKeys:
        scope = (task.request_id, task.action == Action.CHECK)
        if scope not in keys:
            keys[scope] = subject_keys(task.request, action=task.action)
        return keys[scope]

    tasks = list(
        FanoutTask.objects.select_related("system", "request")
        .filter(pk__in=task_ids, status=TaskStatus.PENDING)
        .order_by("request_id", "pk")
    )
    last_of = {task.request_id: index for index, task in enumerate(tasks)}
    statuses, claims = {}, {}  # claims: the next task's, made in the last outcome's commit

    def in_time(index: int) -> bool:
        spent = time.monotonic() - began
        return index == 0 or spent + tasks[index].system.timeout_seconds <= budget

    for index, task in enumerate(tasks):
        if index not in claims and not in_time(index):
            rest = [str(t.pk) for t in tasks[index:]]
            log.info("fan-out batch out of time after %d tasks; %d go out again", index, len(rest))
            publish(rest)
            break
        claim = claims.pop(index, None) or _claim(task)
        if claim == "exhausted":
            used = f"no attempts left ({task.attempts} of {task.system.max_attempts} used)"
            outcome, awaiting = Outcome(FAILED, used), (TaskStatus.PENDING,)
        elif claim == "claimed":
            outcome, awaiting = _call(task, keys_for(task)), (TaskStatus.RUNNING,)
        else:
            continue  # not due, or another worker runs it (and moves its request on)

        def claim_next(following=index + 1):
            if following < len(tasks) and in_time(following):
                claims[following] = _claim(tasks[following])

        # The request moves on in the transaction of its last task's outcome in this batch,
        # and the next task is claimed in the same commit.
        settle = last_of[task.request_id] == index
        statuses.update(
            record_outcomes([(task, outcome)], awaiting=awaiting, settle=settle, then=claim_next)
        )
    return statuses


def run_task(task_id) -> str:
    """Run one attempt of a task if it is due and nobody else runs it; return its status."""
    return run_tasks([task_id]).get(str(task_id), "skipped")


def _claim(task: FanoutTask) -> str:
    """``pending`` → ``running`` for one attempt of a due task nobody else holds, with its
    lease: ``claimed``; ``exhausted`` if its system's attempts are used up (it stays pending
    for the caller to fail); ``skipped`` if it is not due or someone else took it."""
    if task.attempts >= task.system.max_attempts:
        return "exhausted"
    now = timezone.now()
    lease = lease_for(task.system, now)
    due = FanoutTask.objects.filter(pk=task.pk, next_attempt_at__lte=now, attempts=task.attempts)
    if not lifecycle.move(
        due, frm={TaskStatus.PENDING}, to=TaskStatus.RUNNING,
        updated_at=now, attempts=F("attempts") + 1, lease_until=lease,
    ):  # fmt: skip
        return "skipped"
    task.status, task.updated_at, task.lease_until = TaskStatus.RUNNING, now, lease
    task.attempts += 1
    return "claimed"


def _call(task: FanoutTask, keys: SubjectKeys) -> Outcome:
    system = task.system
    sink = exports.open_part(task) if task.action == Action.EXPORT else None
    erasing = task.action in (Action.DELETE, Action.ANONYMISE)
    checkpoint = CacheCheckpoint(str(task.idempotency_key)) if erasing else None
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
        export_to=sink,
        checkpoint=checkpoint,
    )
    try:
        outcome = connector_for(system.kind).run(call)
    except Exception as exc:  # a connector bug must not leave the task running forever
        log.exception("connector %s crashed on task %s", system.kind, task.pk)
        outcome = Outcome(RETRY, f"connector error: {type(exc).__name__}")
    if checkpoint is not None and outcome.state != RETRY:
        checkpoint.clear()  # only an attempt cut short resumes; a staff retry starts afresh
    if sink is not None:  # the rows written as they came: sealed, or dropped if not done
        outcome = exports.settle_part(sink, outcome, done=outcome.state == DONE)
    return outcome


def callback_url(task: FanoutTask) -> str:
    """Where a system that answers 202 reports the task's result."""
    route = connector_for(task.system.kind).callback_route
    return settings.DSAR_PUBLIC_BASE_URL + reverse(route, args=[task.pk])
