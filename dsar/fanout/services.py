"""The fan-out engine: which systems act on a request, running each task, completing it.

Writes happen here; tasks.py only carries ids. A task is claimed with a conditional UPDATE
(``pending`` → ``running``) so two deliveries of the same message cannot both run it, and
the connector call happens outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.fanout.connectors import (
    ACCEPTED,
    DONE,
    FAILED,
    RETRY,
    Outcome,
    SubjectKeys,
    connector_for,
)
from dsar.fanout.models import FINAL, Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.plan import delete_category, open_stage  # noqa: F401 (legal's entry point)
from dsar.fanout.recipients import confirm_url
from dsar.staff import permissions
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition

log = logging.getLogger(__name__)

BACKOFF_BASE = dt.timedelta(seconds=30)
STUCK_AFTER = dt.timedelta(minutes=10)


def subject_keys(request: RightsRequest) -> SubjectKeys:
    """The identity the request was filed and verified with; nothing typed later."""
    return SubjectKeys(email=request.email, phone=request.phone, account_id=request.account_id)


def start(request: RightsRequest) -> list[str]:
    """Create the first stage's tasks for a request entering processing (see ``plan``).

    Called inside the transition's transaction; messages are published after commit. With
    nothing to act on, the completion check still runs and completes the request at once.
    """
    ids, _ = open_stage(request)
    record_event(
        action="fanout.started",
        actor=Actor.system("fanout"),
        request_id=request.pk,
        payload={"tasks": len(ids)},
    )
    request_id = str(request.pk)
    transaction.on_commit(lambda: publish(ids) if ids else _complete_later(request_id))
    return ids


def start_checks(request: RightsRequest) -> list[FanoutTask]:
    """Ask every system that supports it for a dry run (``check``) when review starts.

    What the systems report (open obligations, the identities they hold for the account,
    data categories under retention) goes to the legal checks; see ``_report_check``.
    """
    now = timezone.now()
    tasks = [
        FanoutTask.objects.get_or_create(
            request=request, system=system, action=Action.CHECK, defaults={"next_attempt_at": now}
        )[0]
        for system in DownstreamSystem.objects.filter(enabled=True)
        if system.supports(Action.CHECK)
    ]
    if tasks:
        ids = [str(t.pk) for t in tasks]
        transaction.on_commit(lambda: publish(ids))
    return tasks


def system_fields(system: DownstreamSystem) -> set[str]:
    from dsar.fanout.connectors import http, sql

    reader = {"sql": sql.fields, "http": http.fields}.get(system.kind)
    return reader(system.settings) if reader else set()


def _changes_for(system: DownstreamSystem, request: RightsRequest) -> list[dict]:
    from dsar.portal.corrections import accepted_changes

    held = system_fields(system)
    return [c for c in accepted_changes(request) if c["field"] in held]


def concerns(system: DownstreamSystem, action: str, request: RightsRequest) -> bool:
    """A correction goes only to the systems that hold one of the accepted fields."""
    return action != Action.CORRECT or bool(_changes_for(system, request))


def publish(task_ids: list[str]) -> None:
    """Hand task ids to Celery (after commit). A broker outage loses nothing: the rows stay
    pending and the reconciler re-drives them."""
    from dsar.fanout import tasks as celery_tasks

    try:
        for task_id in task_ids:
            celery_tasks.run_task.delay(task_id)
    except Exception:  # broker down: the reconciler re-drives the rows
        log.warning("could not publish %d fan-out tasks", len(task_ids), exc_info=True)


def _claim(task_id) -> FanoutTask | None:
    """``pending`` → ``running`` with one conditional UPDATE; None if someone else has it."""
    now = timezone.now()
    claimed = FanoutTask.objects.filter(
        pk=task_id, status=TaskStatus.PENDING, next_attempt_at__lte=now
    ).update(status=TaskStatus.RUNNING, updated_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return FanoutTask.objects.select_related("system", "request").get(pk=task_id)


def run_task(task_id) -> str:
    """Run one attempt of a task if it is due and nobody else runs it; return its status."""
    task = _claim(task_id)
    if task is None:
        return "skipped"
    system = task.system
    run = connector_for(system.kind)
    extra = {
        "http": {"callback_url": callback_url(task)},
        "backup": {"system": system},
        "notify": {"confirm_url": confirm_url(task)},
    }.get(system.kind, {})
    if task.action == Action.CORRECT:
        extra["changes"] = _changes_for(system, task.request)
    try:
        outcome = run(
            config=system.settings,
            action=task.action,
            keys=subject_keys(task.request),
            idempotency_key=str(task.idempotency_key),
            timeout=system.timeout_seconds,
            **extra,
        )
    except Exception as exc:  # a connector bug must not leave the task running forever
        log.exception("connector %s crashed on task %s", system.kind, task.pk)
        outcome = Outcome(RETRY, f"connector error: {type(exc).__name__}")
    return record_outcome(task, outcome)


def callback_url(task: FanoutTask) -> str:
    return settings.DSAR_PUBLIC_BASE_URL + reverse("fanout-callback", args=[task.pk])


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff with full jitter: up to 30 s, 60 s, 120 s, … after each attempt."""
    ceiling = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=random.uniform(0.5, 1.0) * ceiling.total_seconds())  # noqa: S311


def record_outcome(task: FanoutTask, outcome: Outcome) -> str:
    now = timezone.now()
    fields = {"updated_at": now, "last_error": outcome.detail[:300]}
    if outcome.state == DONE:
        fields.update(status=TaskStatus.DONE, finished_at=now, result=_summary(outcome.data))
    elif outcome.state == ACCEPTED:
        fields.update(status=TaskStatus.WAITING)
    elif outcome.state == RETRY and task.attempts < task.system.max_attempts:
        fields.update(status=TaskStatus.PENDING, next_attempt_at=now + backoff(task.attempts))
    else:
        fields.update(status=TaskStatus.FAILED, finished_at=now)
    with transaction.atomic():
        if not FanoutTask.objects.filter(pk=task.pk, status=TaskStatus.RUNNING).update(**fields):
            return "skipped"  # re-driven meanwhile: the other run records its own outcome
        record_event(
            action=f"fanout.{fields['status']}",
            actor=Actor.system(f"downstream:{task.system.name}"[:64]),
            request_id=task.request_id,
            payload={"task": str(task.pk), "action": task.action, "attempt": task.attempts},
        )
        if fields["status"] == TaskStatus.PENDING:
            delay = (fields["next_attempt_at"] - now).total_seconds()
            transaction.on_commit(lambda: _schedule_retry(str(task.pk), delay))
        if fields["status"] == TaskStatus.DONE and task.action == Action.CHECK:
            _report_check(task, outcome.data)
        if fields["status"] in FINAL and task.action == Action.CHECK:
            from dsar.fanout import tasks as celery_tasks

            request_id = str(task.request_id)  # a cancellation may wait for this answer
            transaction.on_commit(lambda: celery_tasks.end_cooling_off_of.delay(request_id))
        if fields["status"] == TaskStatus.DONE and task.action == Action.EXPORT:
            from dsar.exports.services import store_part

            store_part(task=task, rows=list(outcome.data.get("rows") or []))
        if fields["status"] in FINAL and task.action != Action.CHECK:
            # Checked after commit: of tasks finishing together, the last to commit sees the
            # others final and is the one that completes the request.
            transaction.on_commit(lambda: _was_last(task) and _complete_later(str(task.request_id)))
    return fields["status"]


def _report_check(task: FanoutTask, data: dict) -> None:
    """Hand a system's dry-run answer to the legal checks, as kinds and keyed hashes only.

    An ``http`` system answers ``{"obligations": [{"kind": …}], "emails": [...],
    "phones": [...], "categories": [...]}``; an ``sql`` system's check statement returns rows
    with any of the columns ``obligation``, ``email``, ``phone``, ``category``.
    """
    from dsar.legal.reports import record_downstream_check
    from dsar.workflow import identity

    rows = data.get("rows") or [data]
    obligations, hashes, categories = [], set(), set()
    for row in rows:
        obligations += [o for o in row.get("obligations", []) if isinstance(o, dict)]
        if row.get("obligation"):
            obligations.append({"kind": row["obligation"]})
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
        categories |= {row["category"]} if row.get("category") else set()
        categories |= set(row.get("categories", []))
    record_downstream_check(
        request=RightsRequest.objects.get(pk=task.request_id),
        system=task.system.name,
        obligations=obligations,
        identity_hashes=sorted(hashes),
        categories=sorted(categories),
    )


def _was_last(task: FanoutTask) -> bool:
    """True when no other task of the request is still open (only then try to complete)."""
    return not (
        FanoutTask.objects.filter(request_id=task.request_id)
        .exclude(pk=task.pk)
        .exclude(action=Action.CHECK)
        .exclude(status__in=FINAL)
        .exists()
    )


def _summary(data: dict) -> dict:
    """What is kept of a system's answer on the task row: counts, never the data itself."""
    rows = data.get("rows") if isinstance(data, dict) else None
    summary = {"affected": data.get("affected")} if isinstance(data, dict) else {}
    if rows is not None:
        summary["rows"] = len(rows)
    return {k: v for k, v in summary.items() if v is not None}


def _schedule_retry(task_id: str, delay: float) -> None:
    from dsar.fanout import tasks as celery_tasks

    if not settings.CELERY_TASK_ALWAYS_EAGER:  # eager mode: the reconciler picks it up
        celery_tasks.run_task.apply_async(args=[task_id], countdown=max(delay, 0))


def _complete_later(request_id: str) -> None:
    from dsar.fanout import tasks as celery_tasks

    celery_tasks.complete_if_done.delay(request_id)


def complete_if_done(request_id) -> str | None:
    """Move a request in processing on: open its next stage, or complete it once every
    task is done or excluded.

    A failed task keeps the request in processing, flagged for staff, who can retry the
    system. The outcome is ``partial`` when a task was excluded or the legal part kept data.
    """
    from dsar.legal.selectors import completion_outcome

    with transaction.atomic():
        request = RightsRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.status != Status.PROCESSING:
            return None
        ids, settled = open_stage(request)
        if not settled:
            transaction.on_commit(lambda: publish(ids))
            return None
        outcome = completion_outcome(request)
        if request.fanout_tasks.filter(status=TaskStatus.EXCLUDED).exists():
            outcome = "partial"
        try:
            transition(request, to=Status.COMPLETED, actor=Actor.system("fanout"), outcome=outcome)
        except TransitionError:  # a guard refused it: the request stays for staff
            return None
    return outcome


def accept_callback(*, task: FanoutTask, ok: bool, detail: str = "", data: dict | None = None):
    """Finish a task a system had accepted (202), from its verified callback."""
    claimed = FanoutTask.objects.filter(pk=task.pk, status=TaskStatus.WAITING).update(
        status=TaskStatus.RUNNING
    )
    if not claimed:
        return None
    task.refresh_from_db()
    return record_outcome(task, Outcome(DONE if ok else FAILED, detail, data or {}))


def retry(*, request: RightsRequest, user, system_id: int) -> int:
    """Staff: run a system's failed tasks of this request again from the first attempt."""
    permissions.require(user, "retry")
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            request.fanout_tasks.filter(system_id=system_id, status=TaskStatus.FAILED)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        FanoutTask.objects.filter(pk__in=ids).update(
            status=TaskStatus.PENDING, attempts=0, next_attempt_at=now, last_error="",
            finished_at=None, updated_at=now,
        )  # fmt: skip
        record_event(
            action="fanout.retried",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"system": system_id, "tasks": len(ids)},
        )
        task_ids = [str(i) for i in ids]
        transaction.on_commit(lambda: publish(task_ids))
    return len(ids)


def reconcile(*, now: dt.datetime | None = None) -> int:
    """Beat: re-drive work whose message was lost or whose worker died mid-task."""
    from dsar.fanout.ledger import release_backups
    from dsar.fanout.recipients import remind_recipients

    now = now or timezone.now()
    FanoutTask.objects.filter(status=TaskStatus.RUNNING, updated_at__lt=now - STUCK_AFTER).update(
        status=TaskStatus.PENDING, next_attempt_at=now
    )
    due = list(
        FanoutTask.objects.filter(status=TaskStatus.PENDING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for task_id in due:
        run_task(task_id)
    chase_callbacks(now=now)
    release_backups(now=now)
    remind_recipients(now=now)
    return len(due)


def chase_callbacks(*, now: dt.datetime) -> int:
    """An ``http`` system that accepted work (202) but never called back within its
    ``callback_hours`` (default 24) gets the same request again — same idempotency key — until
    its attempts run out; then the task fails for staff. Returns how many were chased."""
    chased = 0
    waiting = FanoutTask.objects.filter(status=TaskStatus.WAITING, system__kind="http")
    for task in waiting.select_related("system"):
        hours = float(task.system.settings.get("callback_hours", 24))
        if now - task.updated_at < dt.timedelta(hours=hours):
            continue
        if not FanoutTask.objects.filter(pk=task.pk, status=TaskStatus.WAITING).update(
            status=TaskStatus.RUNNING, updated_at=now
        ):
            continue  # the callback arrived meanwhile
        task.refresh_from_db()
        record_outcome(task, Outcome(RETRY, "no callback received"))
        chased += 1
    return chased
