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
    insert_among_sql,
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


@dataclass(frozen=True)
class Pending:
    """An attempt's outcome made ready to write (:func:`prepare`), not written yet: the task's
    move (``lifecycle.Move``), its audit event, and whether it settles the task's part of its
    request (``finishes``: the request may move on once it is written)."""

    task: FanoutTask
    outcome: Outcome
    status: str
    fields: dict
    move: lifecycle.Move
    event: Event
    finishes: bool
    now: dt.datetime

    @property
    def writes_more(self) -> bool:
        """Whether its follow-up writes rows of its own (a dry run's report, an export part),
        which then commit with it in a transaction (:func:`record`)."""
        return _writes_more(self.task, self.status)


def record_outcome(task: FanoutTask, outcome: Outcome) -> str:
    """Record one running task's outcome; its new status, or ``skipped``."""
    return record(task, outcome).status


def prepare(task: FanoutTask, outcome: Outcome, *, awaiting=(TaskStatus.RUNNING,)) -> Pending:
    """What recording ``outcome`` of ``task`` (now ``awaiting``) will write; nothing runs."""
    now = timezone.now()
    fields = _new_fields(task, outcome, now=now)
    status = fields.pop("status")
    move = lifecycle.Move(task.pk, to=status, frm=frozenset(awaiting), fields=fields)
    event = _event(task, status, attempt=task.attempts, result=fields.get("result", task.result))
    finishes = task.action != Action.CHECK and (
        status in FINAL or settled(status, task.system.kind)
    )  # a backup's deletion waiting for rotation settles its request too
    return Pending(task, outcome, status, fields, move, event, finishes, now)


def record(
    task: FanoutTask,
    outcome: Outcome,
    *,
    awaiting=(TaskStatus.RUNNING,),
    settle: bool = True,
    claim: lifecycle.Move | None = None,
) -> Recorded:
    """Record what a running task's attempt gave: a conditional UPDATE (which also ends its
    claim's lease) and its audit event, in one statement; the follow-up it sets off; the
    request moved on if this settled it (:func:`completion.move_on`; not with
    ``settle=False``, when the caller moves it on later); and ``claim`` (the dispatcher's claim
    of its next task, a ``lifecycle.Move``) made in the same commit. A task no longer
    ``running`` (re-driven meanwhile; or as ``awaiting`` says) is ``skipped``, and its event is
    not written: the other run records its own outcome, and nothing follows from this one.

    When nothing else is written with it (the common case: a task done, accepted or retried),
    the outcome, its event and the next claim are one statement committed on its own
    (:func:`write`); otherwise (a dry run's report, an export part, or a caller's
    transaction) they go in a transaction with the rest.
    """
    pending = prepare(task, outcome, awaiting=awaiting)
    if not (pending.writes_more or connection.in_atomic_block):
        [moved], claimed = write([pending], moves=[claim] if claim else [], settle=settle)
        return Recorded(pending.status if moved else "skipped", bool(claimed and claimed[0]))
    with transaction.atomic(), appended_together():
        [moved] = _write_all([(pending.move, pending.event)])
        if moved:
            _moved(pending)
            if settle and pending.finishes:
                move_on(str(task.request_id))
        # Last, as before the outcome had its own statement: the next task's row is locked
        # after the request's.
        claimed = _write_all([(claim, None)])[0] if claim is not None else False
    return Recorded(pending.status if moved else "skipped", claimed)


def write(
    pendings: list[Pending], *, moves: list[lifecycle.Move] = (), settle: bool = True
) -> tuple[list[bool], list[bool]]:
    """Write outcomes made ready by :func:`prepare` (each move with its audit event, only if
    it moved) and other moves of tasks (``lifecycle.Move``: the next claims, or
    ``lifecycle.renewal``) in one statement committed on its own, outside a transaction;
    then what each outcome written sets off, and (``settle``) each request one of them
    settled moved on, in a transaction of its own after the commit. None of them may write
    more (``Pending.writes_more``). Returns whether each outcome and each move changed its
    row."""
    flags = _write_all([(p.move, p.event) for p in pendings] + [(m, None) for m in moves])
    moved, others = flags[: len(pendings)], flags[len(pendings) :]
    for pending, done in zip(pendings, moved, strict=True):
        if done:
            _moved(pending)
    if settle:
        settling = [
            str(p.task.request_id)
            for p, done in zip(pendings, moved, strict=True)
            if done and p.finishes
        ]
        for request_id in dict.fromkeys(settling):
            move_on(request_id)
    return moved, others


def _write_all(parts: list[tuple[lifecycle.Move, Event | None]]) -> list[bool]:
    """Run moves of tasks, each with the audit event it should have if it moved, in one
    statement; whether each move changed its row. On PostgreSQL each move is its own
    ``UPDATE … WHERE id = …`` (``lifecycle.move_sql``: found by its key whatever the table's
    statistics say) and the events one ``INSERT`` of those whose task moved, all parts of one
    ``WITH``: PostgreSQL runs every data-modifying part once, in one snapshot, and commits
    them together."""
    if not parts:
        return []
    if connection.vendor != "postgresql":
        return _write_apart(parts)
    ctes, params, moved = [], [], []
    for index, (move, _) in enumerate(parts):
        sql, values = lifecycle.move_sql(move)
        ctes.append(f"moved{index} AS ({sql})")
        params += values
        moved.append(f"SELECT {index} AS part FROM moved{index}")  # noqa: S608 (names)
    pk = FanoutTask._meta.pk
    keyed = [
        (pk.get_db_prep_value(move.task_id, connection), event)
        for move, event in parts
        if event is not None
    ]
    if keyed:
        names = (f"SELECT id FROM moved{i}" for i in range(len(parts)))  # noqa: S608 (names)
        sql, values = insert_among_sql(
            keyed, key_type=pk.db_type(connection), among=" UNION ALL ".join(names)
        )
        ctes.append(f"appended AS ({sql})")
        params += values
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(moved)}", params)
        changed = {part for (part,) in cursor.fetchall()}
    return [index in changed for index in range(len(parts))]


def _write_apart(parts: list[tuple[lifecycle.Move, Event | None]]) -> list[bool]:
    """:func:`_write_all` where a ``WITH`` cannot modify data (SQLite, the embedded default of
    ``make run``): the same writes one after the other, in one transaction."""
    flags = []
    with transaction.atomic(), connection.cursor() as cursor:
        for move, event in parts:
            cursor.execute(*lifecycle.move_sql(move))
            done = bool(cursor.fetchall())
            if done and event is not None:
                record_events([event])
            flags.append(done)
    return flags


def _moved(pending: Pending) -> None:
    """The task's recorded new state, on the object too, and what it sets off."""
    for name, value in {"status": pending.status, **pending.fields}.items():
        setattr(pending.task, name, value)
    _follow_up(pending.task, pending.outcome, now=pending.now)


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
    elif outcome.state == RETRY and task.attempts_left:
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
