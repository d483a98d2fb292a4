"""Recording what a downstream system's attempt gave: the task's new state, its audit event,
the follow-up it sets off (a retry after backoff, a dry run's report to the legal checks, an
export part stored), and the request moved on once its tasks settle.

Outcomes arrive from a worker's attempt, from a verified callback or confirmation, and from
the reconciler's chases; all of them go through :func:`record_outcomes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, Event, appended_together, record_event, record_events
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


def record_outcome(task: FanoutTask, outcome: Outcome) -> str:
    """Record one running task's outcome; its new status, or ``skipped``."""
    return record_outcomes([(task, outcome)]).get(str(task.pk), "skipped")


def record_outcomes(
    results: list[tuple[FanoutTask, Outcome]],
    *,
    awaiting=(TaskStatus.RUNNING,),
    settle: bool = True,
    then: Callable[[], object] | None = None,
) -> dict[str, str]:
    """Record what each running task's attempt gave, in one transaction: a conditional
    UPDATE per task (which also ends its claim's lease) and one audit append; in the same
    transaction, move on the requests this batch settled (:func:`completion.move_on`; not
    with ``settle=False``, when the caller moves them on later), and last run ``then`` (the
    dispatcher claims its next task there, saving a commit). A task no longer ``running``
    (re-driven meanwhile; or as ``awaiting`` says) is ``skipped``: the other run records its
    own outcome, and nothing follows from this one."""
    statuses, events, finished = {}, [], set()
    now = timezone.now()
    with transaction.atomic(), appended_together():
        for task, outcome in results:
            fields = _new_fields(task, outcome, now=now)
            status = fields.pop("status")
            # The UPDATE's row lock holds off a racing callback or re-drive until commit.
            if not lifecycle.move([task.pk], frm=awaiting, to=status, **fields):
                statuses[str(task.pk)] = "skipped"
                continue
            for name, value in {"status": status, **fields}.items():
                setattr(task, name, value)
            _follow_up(task, outcome, now=now)
            statuses[str(task.pk)] = status
            events.append(_event(task, status))
            if task.action != Action.CHECK and (
                status in FINAL or settled(status, task.system.kind)
            ):  # a backup's deletion waiting for rotation settles its request too
                finished.add(str(task.request_id))
        record_events(events)
        for request_id in sorted(finished) if settle else ():
            move_on(request_id)
        if then is not None:
            then()
    return statuses


def _event(task: FanoutTask, status: str) -> Event:
    payload = {"task": str(task.pk), "action": task.action, "attempt": task.attempts}
    verified = (task.result or {}).get("verified")
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
    status = record_outcomes([(task, outcome)], awaiting=CALLBACK_AWAITING)[str(task.pk)]
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
