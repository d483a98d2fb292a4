"""The fan-out engine: which systems act on a request, running each task, completing it.

Writes happen here; tasks.py only carries ids. A task is claimed with a conditional UPDATE
(``pending`` → ``running``) so two deliveries of the same message cannot both run it, and
the connector call happens outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone

from dsar.access import permissions
from dsar.audit.services import Actor, Event, appended_together, record_event, record_events
from dsar.fanout import ledger, lifecycle
from dsar.fanout.connectors import (
    ACCEPTED,
    CALLBACK,
    DONE,
    FAILED,
    RETRY,
    Call,
    Outcome,
    SubjectKeys,
    connector_for,
    kinds_finishing_by,
)
from dsar.fanout.models import FINAL, Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.plan import (  # noqa: F401 (legal's entry point)
    SETTLED,
    delete_category,
    open_stage,
)
from dsar.fanout.recipients import confirm_url
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition

log = logging.getLogger(__name__)

BACKOFF_BASE = dt.timedelta(seconds=30)
STUCK_AFTER = dt.timedelta(minutes=10)


def subject_keys(request: RightsRequest, *, action: str) -> SubjectKeys:
    """The identifiers a system may act on for ``action``: what the subject proved, never
    merely typed (SPEC §8: data is gathered or deleted only for the verified identity).

    - A dry run (``check``) gets everything the subject gave: it changes and discloses
      nothing, and its answer (the addresses a system holds for the account) is how a typed
      account id gets confirmed.
    - After staff verified the subject by identity evidence, everything the subject gave.
    - Otherwise the verified address only (a code or link proved it). The account id, and a
      second address, only once a system's dry run said it holds the verified address for
      that account: without that, anyone could prove their own mailbox and name someone
      else's account.
    """
    from dsar.legal import sources

    typed = SubjectKeys(email=request.email, phone=request.phone, account_id=request.account_id)
    if action == Action.CHECK:
        return typed
    facts = sources.latest_verification(request)
    if facts is not None and facts.strength == "staff_reviewed":
        return typed
    proven = sources.verified_hashes(request, facts=facts)
    held = sources.held_identity_hashes(request) or set()
    linked = bool(proven & held)  # a system ties the proven address to the account

    def usable(value: str, digest: str) -> str:
        return value if digest and (digest in proven or (linked and digest in held)) else ""

    return SubjectKeys(
        email=usable(request.email, request.email_hash),
        phone=usable(request.phone, request.phone_hash),
        account_id=request.account_id if linked else "",
    )


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
        for system in DownstreamSystem.objects.runnable()
        if system.supports(Action.CHECK)
    ]
    if tasks:
        ids = [str(t.pk) for t in tasks]
        transaction.on_commit(lambda: publish(ids))
    return tasks


def system_fields(system: DownstreamSystem) -> set[str]:
    return connector_for(system.kind).fields(system.settings)


def _changes_for(system: DownstreamSystem, request: RightsRequest) -> list[dict]:
    from dsar.corrections.services import accepted_changes

    held = system_fields(system)
    return [c for c in accepted_changes(request) if c["field"] in held]


def concerns(system: DownstreamSystem, action: str, request: RightsRequest) -> bool:
    """A correction goes only to the systems that hold one of the accepted fields."""
    return action != Action.CORRECT or bool(_changes_for(system, request))


PUBLISH_CHUNK = 50


def publish(task_ids: list[str]) -> None:
    """Hand task ids to Celery (after commit), a request's stage in one message. A broker
    outage loses nothing: the rows stay pending and the reconciler re-drives them."""
    from dsar.fanout import tasks as celery_tasks

    try:
        for first in range(0, len(task_ids), PUBLISH_CHUNK):
            celery_tasks.run_tasks.delay(task_ids[first : first + PUBLISH_CHUNK])
    except Exception:  # broker down: the reconciler re-drives the rows
        log.warning("could not publish %d fan-out tasks", len(task_ids), exc_info=True)


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


def run_tasks(task_ids: list) -> dict[str, str]:
    """Run one attempt of each due task nobody else runs; return each one's new status.

    The connectors are called one after the other, outside any transaction; the outcomes
    are then recorded together (:func:`record_outcomes`).
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
        changes=_changes_for(system, task.request) if task.action == Action.CORRECT else None,
        record_in_ledger=ledger.writer(system),
    )
    try:
        return connector_for(system.kind).run(call)
    except Exception as exc:  # a connector bug must not leave the task running forever
        log.exception("connector %s crashed on task %s", system.kind, task.pk)
        return Outcome(RETRY, f"connector error: {type(exc).__name__}")


def callback_url(task: FanoutTask) -> str:
    return settings.DSAR_PUBLIC_BASE_URL + reverse("fanout-callback", args=[task.pk])


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff with full jitter: up to 30 s, 60 s, 120 s, … after each attempt."""
    ceiling = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=random.uniform(0.5, 1.0) * ceiling.total_seconds())  # noqa: S311


def record_outcome(task: FanoutTask, outcome: Outcome) -> str:
    return record_outcomes([(task, outcome)]).get(str(task.pk), "skipped")


CALLBACK_AWAITING = (TaskStatus.RUNNING, TaskStatus.WAITING)


def record_outcomes(
    results: list[tuple[FanoutTask, Outcome]], *, awaiting=(TaskStatus.RUNNING,)
) -> dict[str, str]:
    """Record what each running task's attempt gave, in one transaction: one lock, an UPDATE
    per distinct result (usually one) and one audit append for the whole batch; in the same
    transaction, move on the requests this batch settled (:func:`_move_on`). A task no longer
    ``running`` (re-driven meanwhile; or as ``awaiting`` says) is ``skipped``: the other run
    records its own outcome."""
    statuses, events, finished, groups = {}, [], set(), {}
    now = timezone.now()
    with transaction.atomic(), appended_together():
        running = set(
            FanoutTask.objects.select_for_update()
            .filter(pk__in=[task.pk for task, _ in results], status__in=awaiting)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for task, outcome in results:
            if task.pk not in running:
                statuses[str(task.pk)] = "skipped"
                continue
            fields = _record(task, outcome, now=now)
            # Tasks with the same new fields share one UPDATE (the key is only for grouping).
            key = json.dumps(fields, sort_keys=True, default=str)
            groups.setdefault(key, (fields, []))[1].append(task.pk)
            status = statuses[str(task.pk)] = fields["status"]
            events.append(
                Event(
                    action=f"fanout.{status}",
                    actor=Actor.system(f"downstream:{task.system.name}"[:64]),
                    request_id=task.request_id,
                    payload={"task": str(task.pk), "action": task.action, "attempt": task.attempts},
                )
            )
            if status in FINAL and task.action != Action.CHECK:
                finished.add(str(task.request_id))
        for fields, pks in groups.values():
            lifecycle.move(pks, frm=awaiting, to=fields["status"],
                           **{k: v for k, v in fields.items() if k != "status"})  # fmt: skip
        record_events(events)
        for request_id in sorted(finished):
            _move_on(request_id)
    return statuses


def _move_on(request_id: str) -> None:
    """Inside the outcomes' transaction: open the request's next stage or complete it, if
    nothing of it is open any more.

    Race-free without waiting for commit: the request's row lock orders two batches of the
    same request, and the second to take it sees the first one's committed outcomes. If this
    step fails, the outcomes are still recorded; the reconciler (``complete_settled``) moves
    the request on later.
    """
    try:
        with transaction.atomic(), appended_together():
            complete_if_done(request_id)
    except Exception:
        log.exception("could not move request %s on; the reconciler will", request_id)


def _record(task: FanoutTask, outcome: Outcome, *, now: dt.datetime) -> dict:
    """The fields of one locked running task's new state, and what follows from it written
    or scheduled; the caller saves the fields."""
    fields = {"updated_at": now, "last_error": outcome.detail[:300]}
    if outcome.state == DONE:
        fields.update(status=TaskStatus.DONE, finished_at=now, result=_summary(outcome.data))
    elif outcome.state == ACCEPTED:
        fields.update(status=TaskStatus.WAITING)
    elif outcome.state == RETRY and task.attempts < task.system.max_attempts:
        fields.update(status=TaskStatus.PENDING, next_attempt_at=now + backoff(task.attempts))
    else:
        fields.update(status=TaskStatus.FAILED, finished_at=now)
    status, task_id = fields["status"], str(task.pk)
    for name, value in fields.items():
        setattr(task, name, value)
    if status == TaskStatus.PENDING:
        delay = (fields["next_attempt_at"] - now).total_seconds()
        transaction.on_commit(lambda: _schedule_retry(task_id, delay))
    if status == TaskStatus.DONE and task.action == Action.CHECK:
        _report_check(task, outcome.data)
    if status in FINAL and task.action == Action.CHECK:
        from dsar.fanout import tasks as celery_tasks

        request_id = str(task.request_id)  # a cancellation may wait for this answer
        transaction.on_commit(lambda: celery_tasks.end_cooling_off_of.delay(request_id))
    if status == TaskStatus.DONE and task.action == Action.EXPORT:
        from dsar.exports.services import store_part

        store_part(task=task, rows=list(outcome.data.get("rows") or []))
    return fields


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

    # No savepoint of its own: a caller inside a transaction that goes on after a failure
    # (``_move_on``) takes one.
    with transaction.atomic(savepoint=False):
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
    """Finish a task a system had accepted (202), from its verified callback; None if the task
    is not waiting for one (a replay, or already finished).

    A fast system may call back before our worker has recorded its 202: a task still
    ``running`` is finished the same way, and the 202 recorded after it is skipped.
    """
    outcome = Outcome(DONE if ok else FAILED, detail, data or {})
    task = FanoutTask.objects.select_related("system", "request").get(pk=task.pk)
    status = record_outcomes([(task, outcome)], awaiting=CALLBACK_AWAITING)[str(task.pk)]
    return None if status == "skipped" else status


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
        lifecycle.move(
            ids, frm={TaskStatus.FAILED}, to=TaskStatus.PENDING, attempts=0, next_attempt_at=now,
            last_error="", finished_at=None, updated_at=now,
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
    lifecycle.move(
        FanoutTask.objects.filter(updated_at__lt=now - STUCK_AFTER),
        frm={TaskStatus.RUNNING}, to=TaskStatus.PENDING, next_attempt_at=now, updated_at=now,
    )  # fmt: skip
    due = list(
        FanoutTask.objects.filter(status=TaskStatus.PENDING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for first in range(0, len(due), PUBLISH_CHUNK):
        run_tasks(due[first : first + PUBLISH_CHUNK])
    complete_settled(now=now)
    chase_callbacks(now=now)
    release_backups(now=now)
    remind_recipients(now=now)
    return len(due)


def complete_settled(*, now: dt.datetime) -> int:
    """Requests left in processing although all their tasks are settled (their completion
    step was lost with a worker) are moved on: the next stage opens or the request completes.
    Requests with a failed task wait for staff. Returns how many were moved on."""
    open_work = FanoutTask.objects.filter(request=OuterRef("pk")).exclude(action=Action.CHECK)
    settled = list(
        RightsRequest.objects.filter(status=Status.PROCESSING, updated_at__lt=now - STUCK_AFTER)
        .filter(Exists(open_work))
        .exclude(Exists(open_work.exclude(status__in=SETTLED)))
        .values_list("pk", flat=True)[:500]
    )
    for request_id in settled:
        complete_if_done(str(request_id))
    return len(settled)


def chase_callbacks(*, now: dt.datetime) -> int:
    """An ``http`` system that accepted work (202) but never called back within its
    ``callback_hours`` (default 24) gets the same request again — same idempotency key — until
    its attempts run out; then the task fails for staff. Returns how many were chased."""
    chased = 0
    waiting = FanoutTask.objects.filter(
        status=TaskStatus.WAITING, system__kind__in=kinds_finishing_by(CALLBACK)
    )
    for task in waiting.select_related("system"):
        hours = float(task.system.settings.get("callback_hours", 24))
        if now - task.updated_at < dt.timedelta(hours=hours):
            continue
        if not lifecycle.move(
            [task.pk], frm={TaskStatus.WAITING}, to=TaskStatus.RUNNING, updated_at=now
        ):
            continue  # the callback arrived meanwhile
        task.refresh_from_db()
        record_outcome(task, Outcome(RETRY, "no callback received"))
        chased += 1
    return chased
