"""Recording what a downstream system's attempt gave: the task's new state, its audit event,
the follow-up it sets off (a retry after backoff, a dry run's report to the legal checks, an
export part stored), and the request moved on once its tasks settle.

Outcomes arrive from a worker's attempt, from a verified callback or confirmation, and from
the reconciler's chases; all of them go through :func:`record`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from dsar.audit.services import (
    Actor,
    Event,
    appended_together,
    insert_sql,
    record_event,
    record_events,
)
from dsar.backoff import backoff
from dsar.exports.services import store_part
from dsar.fanout import lifecycle
from dsar.fanout.completion import move_on
from dsar.fanout.connectors import ACCEPTED, DONE, FAILED, RETRY, Outcome, connector_for
from dsar.fanout.datamaps import coverage
from dsar.fanout.models import FINAL, Action, FanoutTask, TaskStatus
from dsar.fanout.plan import settled
from dsar.fanout.publishing import publish_cooling_off_check, publish_retry
from dsar.legal.reports import record_downstream_check
from dsar.workflow import identity
from dsar.workflow.models import RightsRequest

BACKOFF_BASE = dt.timedelta(seconds=30)
CALLBACK_AWAITING = (TaskStatus.RUNNING, TaskStatus.WAITING)


@dataclass(frozen=True)
class Recorded:
    """What :func:`record` did: the task's new status (or ``skipped``), and whether the claim
    made in the same write took its task."""

    status: str
    claimed: bool = False


def record_outcome(task: FanoutTask, outcome: Outcome) -> str:
    """Record one running task's outcome; its new status, or ``skipped``."""
    return record(task, outcome).status


def record(
    task: FanoutTask,
    outcome: Outcome,
    *,
    awaiting=(TaskStatus.RUNNING,),
    settle: bool = True,
    claim: tuple[str, tuple] | None = None,
) -> Recorded:
    """Record what a running task's attempt gave: a conditional UPDATE (which also ends its
    claim's lease) and its audit event, in one statement; the follow-up it sets off; the
    request moved on if this settled it (:func:`completion.move_on`; not with
    ``settle=False``, when the caller moves it on later); and ``claim`` (the dispatcher's claim
    of its next task, ``lifecycle.move_sql``) made in the same commit. A task no longer
    ``running`` (re-driven meanwhile; or as ``awaiting`` says) is ``skipped``, and its event is
    not written: the other run records its own outcome, and nothing follows from this one.

    When nothing else is written with it (the common case: a task done, accepted or retried),
    the outcome, its event and the next claim are one statement committed on its own, one
    round trip, and a request it settles is moved on in a transaction after it; otherwise (a
    dry run's report, an export part, or a caller's transaction) they go in a transaction with
    the rest.
    """
    now = timezone.now()
    fields = _new_fields(task, outcome, now=now)
    status = fields.pop("status")
    moving = lifecycle.move_sql(task.pk, frm=awaiting, to=status, **fields)
    event = _event(task, status, attempt=task.attempts, result=fields.get("result", task.result))
    finishes = (
        settle
        and task.action != Action.CHECK
        and (status in FINAL or settled(status, task.system.kind))
    )  # a backup's deletion waiting for rotation settles its request too
    if not (_writes_more(task, status) or connection.in_atomic_block):
        moved, claimed = _write(moving, event, claim)
        if moved:
            _moved(task, outcome, status, fields, now=now)
            if finishes:  # in a transaction of its own, after the outcome's commit
                move_on(str(task.request_id))
        return Recorded(status if moved else "skipped", claimed)
    with transaction.atomic(), appended_together():
        moved, _ = _write(moving, event, None)
        if moved:
            _moved(task, outcome, status, fields, now=now)
            if finishes:
                move_on(str(task.request_id))
        # Last, as before the outcome had its own statement: the next task's row is locked
        # after the request's.
        claimed = _write(claim, None, None)[0] if claim is not None else False
    return Recorded(status if moved else "skipped", claimed)


def _write(moving: tuple[str, tuple], event: Event | None, claim: tuple[str, tuple] | None):
    """Run a move (``lifecycle.move_sql``), the audit event it should have if it moved, and
    another move (a claim) in one statement; whether each of the two moves changed its row.
    PostgreSQL runs every data-modifying part of a ``WITH`` once, in one snapshot."""
    if connection.vendor != "postgresql":
        return _write_apart(moving, event, claim)
    parts, params = [f"moved AS ({moving[0]})"], [*moving[1]]
    if event is not None:
        sql, values = insert_sql([event], when="EXISTS (SELECT 1 FROM moved)")
        parts.append(f"appended AS ({sql})")
        params += values
    if claim is not None:
        parts.append(f"claimed AS ({claim[0]})")
        params += claim[1]
    took = "(SELECT count(*) FROM claimed)" if claim is not None else "0"
    sql = f"WITH {', '.join(parts)} SELECT (SELECT count(*) FROM moved), {took}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        moved, claimed = cursor.fetchone()
    return bool(moved), bool(claimed)


def _write_apart(moving, event: Event | None, claim) -> tuple[bool, bool]:
    """:func:`_write` where a ``WITH`` cannot modify data (SQLite, the embedded default of
    ``make run``): the same writes one after the other, in one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*moving)
        moved = bool(cursor.fetchall())
        if moved and event is not None:
            record_events([event])
        claimed = False
        if claim is not None:
            cursor.execute(*claim)
            claimed = bool(cursor.fetchall())
    return moved, claimed


def _moved(task: FanoutTask, outcome: Outcome, status: str, fields: dict, *, now) -> None:
    """The task's recorded new state, on the object too, and what it sets off."""
    for name, value in {"status": status, **fields}.items():
        setattr(task, name, value)
    _follow_up(task, outcome, now=now)


def _event(task: FanoutTask, status: str, *, attempt: int, result: dict) -> Event:
    payload = {"task": str(task.pk), "action": task.action, "attempt": attempt}
    verified = (result or {}).get("verified")
    proven = isinstance(verified, dict) and isinstance(verified.get("rows_left"), int)
    if status == TaskStatus.DONE and proven and connector_for(task.system.kind).proves_erasure:
        # The proof of erasure: the map's queries found nothing left but retained columns.
        payload["verified"] = f"{verified['rows_left']} rows"
    return Event(
        action=f"fanout.{status}",
        actor=Actor.system(f"downstream:{task.system.name}"[:64]),
        request_id=task.request_id,
        payload=payload,
    )


def _new_fields(task: FanoutTask, outcome: Outcome, *, now: dt.datetime) -> dict:
    """The fields of a running task's new state after ``outcome``."""
    fields = {"updated_at": now, "last_error": outcome.detail[:300], "lease_until": None}
    if outcome.state == DONE:
        fields.update(status=TaskStatus.DONE, finished_at=now, result=_summary(outcome.data))
    elif outcome.state == ACCEPTED:
        fields.update(status=TaskStatus.WAITING)
    elif outcome.state == RETRY and task.attempts < task.system.max_attempts:
        fields.update(
            status=TaskStatus.PENDING,
            next_attempt_at=now + backoff(task.attempts, base=BACKOFF_BASE, jitter=True),
        )
    else:
        fields.update(status=TaskStatus.FAILED, finished_at=now)
    return fields


def _writes_more(task: FanoutTask, status: str) -> bool:
    """Whether the follow-up of ``status`` writes rows of its own (which then commit with the
    outcome): a dry run's report, an export part."""
    return status == TaskStatus.DONE and task.action in (Action.CHECK, Action.EXPORT)


def _follow_up(task: FanoutTask, outcome: Outcome, *, now: dt.datetime) -> None:
    """What the task's recorded new state sets off: a retry, a dry run's report, a
    cancellation's check, an export part."""
    status, task_id = task.status, str(task.pk)
    if status == TaskStatus.PENDING:
        delay = (task.next_attempt_at - now).total_seconds()
        transaction.on_commit(lambda: publish_retry(task_id, delay))
    if status == TaskStatus.DONE and task.action == Action.CHECK:
        _report_check(task, outcome.data)
    if status in FINAL and task.action == Action.CHECK:
        request_id = str(task.request_id)  # a cancellation may wait for this answer
        transaction.on_commit(lambda: publish_cooling_off_check(request_id))
    if status == TaskStatus.DONE and task.action == Action.EXPORT:
        rows = outcome.data.get("rows")  # None: streamed to the attempt's part files
        store_part(task=task, rows=None if rows is None else list(rows))


def _report_check(task: FanoutTask, data: dict) -> None:
    """Hand a system's dry-run answer to the legal checks, as kinds and keyed hashes only.

    An ``http`` system answers ``{"obligations": [{"kind": …}], "emails": [...],
    "phones": [...], "categories": [...]}``; an ``sql`` system's check statement returns rows
    with any of the columns ``obligation``, ``email``, ``phone``, ``category``.
    """
    rows = data.get("rows") or [data]
    obligations, hashes, categories = [], set(), set()
    for row in rows:
        obligations += [o for o in row.get("obligations", []) if isinstance(o, dict)]
        if row.get("obligation"):
            obligations.append({"kind": row["obligation"]})
        hashes |= _identity_hashes(row)
        categories |= {row["category"]} if row.get("category") else set()
        categories |= set(row.get("categories", []))
    uncovered = {entry["table"] for entry in coverage(task.system)["uncovered"]}
    record_downstream_check(
        request=RightsRequest.objects.get(pk=task.request_id),
        system=task.system.name,
        obligations=obligations,
        identity_hashes=sorted(hashes),
        categories=sorted(categories),
        uncovered=sorted(uncovered),
    )


def _identity_hashes(row: dict) -> set[str]:
    """The keyed hashes of the addresses and phones one row of a dry-run answer names."""
    hashes = set()
    for values, normalise, digest in (
        ([row.get("email"), *row.get("emails", [])], identity.normalise_email,
         identity.email_hash),
        ([row.get("phone"), *row.get("phones", [])], identity.normalise_phone,
         identity.phone_hash),
    ):  # fmt: skip
        for value in filter(None, values):
            try:
                hashes.add(digest(normalise(str(value))))
            except identity.InvalidIdentity:
                continue  # a malformed address downstream proves nothing
    return hashes


def _summary(data: dict) -> dict:
    """What is kept of a system's answer on the task row: counts, never the data itself."""
    if not isinstance(data, dict):
        return {}
    rows = data.get("rows")
    summary = {name: data.get(name) for name in ("affected", "deleted", "masked", "verified")}
    if rows is not None:
        summary["rows"] = len(rows)
    elif isinstance(data.get("row_count"), int):  # an export streamed to its part
        summary["rows"] = data["row_count"]
    if data.get("retained"):  # "table.column (category)": names, never values
        summary["retained"] = [str(name) for name in data["retained"]][:50]
    return {k: v for k, v in summary.items() if v is not None}


def accept_callback(*, task: FanoutTask, ok: bool, detail: str = "", data: dict | None = None):
    """Finish a task a system had accepted (202), from its verified callback; None if the task
    is not waiting for one (a replay, or already finished).

    A fast system may call back before our worker has recorded its 202: a task still
    ``running`` is finished the same way, and the 202 recorded after it is skipped.
    """
    outcome = Outcome(DONE if ok else FAILED, detail, data or {})
    task = FanoutTask.objects.select_related("system", "request").get(pk=task.pk)
    status = record(task, outcome, awaiting=CALLBACK_AWAITING).status
    return None if status == "skipped" else status


def record_progress(*, task: FanoutTask, detail: str) -> bool:
    """Note on a task that waits for a system what the system reports of the work under way
    (an OpenDSR processor's ``in_progress``), audited; the task keeps waiting, and its chase
    is counted from now. False, and nothing written, if the task no longer waits."""
    with transaction.atomic():
        noted = FanoutTask.objects.filter(pk=task.pk, status__in=CALLBACK_AWAITING).update(
            last_error=detail[:300], updated_at=timezone.now()
        )
        if noted:
            record_event(
                action="fanout.progress",
                actor=Actor.system(f"downstream:{task.system.name}"[:64]),
                request_id=task.request_id,
                payload={"task": str(task.pk), "action": task.action, "progress": detail[:80]},
            )
    return bool(noted)
