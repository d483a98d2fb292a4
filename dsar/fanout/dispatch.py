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
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from dsar.exports import services as exports
from dsar.fanout import ledger, lifecycle
from dsar.fanout.checkpoints import CacheCheckpoint
from dsar.fanout.connectors import (
    CONFIRMATION,
    DONE,
    FAILED,
    RETRY,
    Call,
    Outcome,
    SubjectKeys,
    connector_for,
)
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import Action, FanoutTask, TaskStatus
from dsar.fanout.outcomes import record
from dsar.fanout.publishing import publish
from dsar.fanout.recipients import confirm_url
from dsar.fanout.routing import changes_for
from dsar.workflow.models import RightsRequest

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

    tasks = _due(task_ids)
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
        # The next task is claimed in the commit of this one's outcome, and the request moves
        # on in the transaction of its last task's outcome in this batch.
        following = index + 1
        upcoming = (
            _prepare(tasks[following]) if following < len(tasks) and in_time(following) else None
        )
        settle = last_of[task.request_id] == index
        recorded = record(
            task, outcome, awaiting=awaiting, settle=settle,
            claim=upcoming.sql if isinstance(upcoming, _Claim) else None,
        )  # fmt: skip
        statuses[str(task.pk)] = recorded.status
        if isinstance(upcoming, _Claim):
            claims[following] = _taken(tasks[following], upcoming, recorded.claimed)
        elif upcoming is not None:
            claims[following] = upcoming  # exhausted: failed at its turn
    return statuses


def _due(task_ids: list) -> list[FanoutTask]:
    """The pending ones of ``task_ids``, by request, each with its system, and each request
    read once for the batch with who filed it (a stage is one request's tasks: one request row,
    decrypted once, instead of one per task; ``keys`` reads who filed from it)."""
    tasks = list(
        FanoutTask.objects.filter(pk__in=task_ids, status=TaskStatus.PENDING)
        .select_related("system")
        .order_by("request_id", "pk")
    )
    requests = RightsRequest.objects.select_related("representation").in_bulk(
        {task.request_id for task in tasks}
    )
    for task in tasks:
        task.request = requests[task.request_id]
    return tasks


def run_task(task_id) -> str:
    """Run one attempt of a task if it is due and nobody else runs it; return its status."""
    return run_tasks([task_id]).get(str(task_id), "skipped")


@dataclass(frozen=True)
class _Claim:
    """A claim of one task, prepared to run in the commit of the previous task's outcome: its
    statement (``lifecycle.move_sql``), and when it was made and its lease ends."""

    sql: tuple[str, tuple]
    now: dt.datetime
    lease: dt.datetime


def _claim(task: FanoutTask) -> str:
    """``pending`` → ``running`` for one attempt of a due task nobody else holds, with its
    lease: ``claimed``; ``exhausted`` if its system's attempts are used up (it stays pending
    for the caller to fail); ``skipped`` if it is not due or someone else took it."""
    claim = _prepare(task)
    if not isinstance(claim, _Claim):
        return claim
    with connection.cursor() as cursor:
        cursor.execute(*claim.sql)
        return _taken(task, claim, len(cursor.fetchall()) == 1)  # RETURNING the row it took


def _prepare(task: FanoutTask) -> _Claim | str:
    """The claim of ``task`` as of now, not yet made: ``pending`` → ``running`` if it is due
    and nobody else counted an attempt since it was read, one attempt more, with its lease;
    ``exhausted`` if its system's attempts are used up (``max_attempts`` holds at claim)."""
    if task.attempts >= task.system.max_attempts:
        return "exhausted"
    now = timezone.now()
    lease = lease_for(task.system, now)
    sql = lifecycle.move_sql(
        task.pk, frm={TaskStatus.PENDING}, to=TaskStatus.RUNNING, updated_at=now,
        attempts=task.attempts + 1, lease_until=lease,
        where={"next_attempt_at__lte": now, "attempts": task.attempts},
    )  # fmt: skip
    return _Claim(sql, now, lease)


def _taken(task: FanoutTask, claim: _Claim, took: bool) -> str:
    """``claimed`` (the object updated as the row was) if the claim took the task, else
    ``skipped``."""
    if not took:
        return "skipped"
    task.status, task.updated_at, task.lease_until = TaskStatus.RUNNING, claim.now, claim.lease
    task.attempts += 1
    return "claimed"


def _call(task: FanoutTask, keys: SubjectKeys) -> Outcome:
    system = task.system
    connector = connector_for(system.kind)
    sink = exports.open_part(task) if task.action == Action.EXPORT else None
    erasing = task.action in (Action.DELETE, Action.ANONYMISE) and connector.resumes
    checkpoint = CacheCheckpoint(str(task.idempotency_key)) if erasing else None
    call = Call(
        config=system.settings,
        action=task.action,
        keys=keys,
        idempotency_key=str(task.idempotency_key),
        timeout=system.timeout_seconds,
        callback_url=callback_url(task),
        # Signed for a recipient who confirms; other kinds never send it.
        confirm_url=confirm_url(task) if connector.finishes_later == CONFIRMATION else "",
        changes=changes_for(system, task.request) if task.action == Action.CORRECT else None,
        purposes=list(task.request.purposes) if task.action == Action.RESTRICT else None,
        record_in_ledger=ledger.writer(system),
        export_to=sink,
        checkpoint=checkpoint,
    )
    try:
        outcome = connector.run(call)
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
