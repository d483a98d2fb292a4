"""Which tasks a request gets, in which order, and what statutory retention holds back.

A request's work runs in stages: a cancellation closes the account (which revokes its
consents downstream) before any of its data is deleted. A stage opens when every task of the
stages before it is done or excluded; a failed task stops the request there for staff.

A system holding a category kept under a retention rule (``dsar.legal.retention``) does not
delete now: its ``delete`` task is ``excluded`` with the reason, it ``anonymise``s instead
when it can (strips what it may while keeping the retained records), and the delete runs
when the period ends (``delete_category``, called by the legal part).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.fanout import lifecycle
from dsar.fanout.connectors import ROTATION, connector_for, kinds_finishing_by
from dsar.fanout.models import FINAL, Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.publishing import publish
from dsar.fanout.routing import concerns
from dsar.legal.retention import excluded_categories
from dsar.legal.selectors import retention_rules_for
from dsar.workflow.models import RequestType, RightsRequest

STAGES = {
    RequestType.DELETION: [[Action.DELETE]],
    RequestType.ACCESS: [[Action.EXPORT]],
    RequestType.CORRECTION: [[Action.CORRECT]],
    RequestType.CANCELLATION: [[Action.CLOSE_ACCOUNT], [Action.DELETE]],
    RequestType.CONSENT_WITHDRAWAL: [[Action.RESTRICT]],  # names the purposes
    RequestType.MARKETING_OPT_OUT: [[Action.OPT_OUT]],
}
SETTLED = {TaskStatus.DONE, TaskStatus.EXCLUDED}
# The types whose review asks the systems for a dry run (``check``): those with work
# downstream, but an opt-out (it needs no account check). An inquiry or complaint has none.
DRY_RUN_TYPES = frozenset(STAGES) - {RequestType.MARKETING_OPT_OUT}
# Changes of the subject's preferences, asked of every system: a runnable system that cannot
# make one gets a task ``excluded`` as skipped, saying why, so staff see who was not told.
SKIPS_SHOWN = {Action.RESTRICT, Action.OPT_OUT}


def settled(status: str, kind: str) -> bool:
    """Whether a task lets its request move on: done or excluded, or a backup's deletion
    recorded in the ledger and waiting for the backups to rotate. The live systems' work is
    then over; the backup task stays open, tracked, and its end is audited when the backups
    have rotated (``ledger.release_backups``)."""
    return status in SETTLED or waits_for_rotation(status, kind)


def waits_for_rotation(status: str, kind: str) -> bool:
    """Whether a task is a backup's deletion recorded in the ledger, waiting for the backups
    to rotate (``backups.backup_waiting`` says the same of a queryset)."""
    return status == TaskStatus.WAITING and kind in kinds_finishing_by(ROTATION)


@dataclass(frozen=True)
class Stage:
    """What :func:`open_stage` found and did: the ids of the rows it created (to publish after
    commit), whether every stage is settled (the request may complete), and every work row
    of the request as of now, as ``(action, status, system kind, system id)``."""

    created: list[str]
    settled: bool
    rows: list[tuple[str, str, str, object]]

    @property
    def excluded(self) -> bool:
        """Whether a task was excluded (statutory retention, or a system that cannot act)."""
        return any(status == TaskStatus.EXCLUDED for _, status, _, _ in self.rows)

    @property
    def backups_waiting(self) -> bool:
        """Whether a backup system's task waits for its backups to rotate."""
        return any(waits_for_rotation(status, kind) for _, status, kind, _ in self.rows)


def open_stage(request: RightsRequest, *, first: bool = False) -> Stage:
    """Create the rows of the first stage not yet opened, once every earlier one is settled.

    Returns the :class:`Stage`: the ids of rows created now (to publish after commit), whether
    every stage is settled (the request may complete), and the request's work rows. Call with
    the request row locked. ``first``: the request is entering processing, so it has no work
    rows yet (the transition table enters processing once; ``ENTERED_ONCE`` in
    ``workflow.transitions``).
    """
    # Every work row of the request, read once: the row lock keeps others from adding any,
    # so the rows created below are added to this list instead of reading it again.
    rows = (
        []
        if first
        else list(
            request.fanout_tasks.exclude(action=Action.CHECK).values_list(
                "action", "status", "system__kind", "system_id"
            )
        )
    )
    for actions in STAGES[request.type]:
        created = []
        # A stage's rows are created once, when it opens, for the systems enabled then; a
        # system registered later does not join work already under way.
        stage = {*actions, *([Action.ANONYMISE] if Action.DELETE in actions else [])}
        if not any(action in stage for action, *_ in rows):
            kept = set(excluded_categories(request))
            for action in actions:
                tasks = _create_rows(request, action, kept, rows)
                rows += [(t.action, t.status, t.system.kind, t.system_id) for t in tasks]
                created += [str(t.pk) for t in tasks if t.status == TaskStatus.PENDING]
        if any(not settled(status, kind) for _, status, kind, _ in rows):
            return Stage(created, False, rows)
    return Stage([], True, rows)


def _create_rows(
    request: RightsRequest, action: str, kept: set[str], rows: list[tuple]
) -> list[FanoutTask]:
    """The missing rows of one action, in one INSERT (the request row is locked); ``rows``:
    the request's work rows so far (action, status, kind, system id). Returns those created."""
    now = timezone.now()
    existing = {(system_id, a) for a, _, _, system_id in rows if a in (action, Action.ANONYMISE)}
    new, excluded, skipped = [], [], []
    for system in DownstreamSystem.objects.runnable():
        if (system.pk, action) in existing:
            continue
        skip = skip_reason(system, action)
        retained = None if skip else _retained(system, action, request, kept)
        if retained is None and not skip:
            continue
        task = FanoutTask(request=request, system=system, action=action, next_attempt_at=now)
        new.append(task)
        if skip:
            task.status, task.finished_at, task.last_error = TaskStatus.EXCLUDED, now, skip
            skipped.append(task)
        elif retained:
            task.status, task.finished_at = TaskStatus.EXCLUDED, now
            task.last_error = f"kept under statutory retention: {', '.join(retained)}"
            excluded.append((task, retained))
            if system.supports(Action.ANONYMISE) and (system.pk, Action.ANONYMISE) not in existing:
                new.append(FanoutTask(request=request, system=system, action=Action.ANONYMISE,
                                      next_attempt_at=now))  # fmt: skip
    FanoutTask.objects.bulk_create(new)
    for task, retained in excluded:
        record_event(
            action="fanout.excluded",
            actor=Actor.system("fanout"),
            request_id=request.pk,
            payload={"task": str(task.pk), "system": task.system.name, "categories": retained},
        )
    for task in skipped:
        record_event(
            action="fanout.skipped",
            actor=Actor.system("fanout"),
            request_id=request.pk,
            payload={"task": str(task.pk), "system": task.system.name, "action": action,
                     "reason": task.last_error},
        )  # fmt: skip
    return new


def skip_reason(system: DownstreamSystem, action: str) -> str:
    """Why ``system`` is skipped for ``action`` (a task recorded as skipped), or "" when it
    is not: only for ``SKIPS_SHOWN``, as the system's kind says it cannot do it with its
    configuration, or the system was not given the action."""
    if action not in SKIPS_SHOWN:
        return ""
    why = connector_for(system.kind).unable(action, system.settings)
    if not why and not system.supports(action):
        why = f"{action} is not among the system's actions"
    return f"skipped: {why}"[:300] if why else ""


def _retained(system, action: str, request: RightsRequest, kept: set[str]) -> list[str] | None:
    """None when ``system`` gets no ``action`` task for ``request``; else the retained
    categories that keep its delete from running now (empty: it runs). A system skipped
    for the action (``skip_reason``) gets none: it does not act."""
    if not system.supports(action) or skip_reason(system, action):
        return None
    if not concerns(system, action, request):
        return None
    return sorted(set(system.categories or []) & kept) if action == Action.DELETE else []


def preview(request: RightsRequest) -> list[dict]:
    """What approving ``request`` will set off, stage by stage, without writing anything: one
    entry per (system, action) with the categories kept under retention (its delete waits,
    an ``anonymise`` runs instead where the system can). Categories kept are those of the
    deferred deletions already scheduled, and of the retention rules the systems' dry runs
    make apply (``legal.selectors.retention_rules_for``), scheduled on approval."""
    kept = set(excluded_categories(request)) | {r.category for r in retention_rules_for(request)}
    work = []
    for number, actions in enumerate(STAGES[request.type], start=1):
        for action in actions:
            for system in DownstreamSystem.objects.runnable().order_by("name"):
                retained = _retained(system, action, request, kept)
                if retained is None:
                    continue
                work.append({
                    "stage": number,
                    "system": system.name,
                    "kind": system.kind,
                    "action": action,
                    "action_label": Action(action).label,
                    "retained": retained,
                    "anonymise": bool(retained) and system.supports(Action.ANONYMISE),
                })  # fmt: skip
    return work


def delete_category(*, request_id, category: str) -> int:
    """The retention period of ``category`` ended: delete it from the systems that kept it.

    Re-opens each ``delete`` that was excluded for this category, once no other category of
    the same system is still kept. Returns how many tasks were re-opened; audited.
    """
    request = RightsRequest.objects.get(pk=request_id)
    still_kept = set(excluded_categories(request))
    now = timezone.now()
    with transaction.atomic():
        excluded = FanoutTask.objects.select_for_update().filter(
            request=request, action=Action.DELETE, status=TaskStatus.EXCLUDED
        )
        ids = [
            str(task.pk)
            for task in excluded.select_related("system")
            if category in (task.system.categories or [])
            and not set(task.system.categories) & still_kept
        ]
        lifecycle.move(
            ids, frm={TaskStatus.EXCLUDED}, to=TaskStatus.PENDING, attempts=0,
            next_attempt_at=now, finished_at=None, last_error="", updated_at=now,
        )  # fmt: skip
        record_event(
            action="fanout.retention_ended",
            actor=Actor.system("retention"),
            request_id=request.pk,
            payload={"category": category, "tasks": ids},
        )
        transaction.on_commit(lambda: publish(ids))
    return len(ids)


def ask_check_again(task: FanoutTask, *, now, **fields) -> bool:
    """Move a settled dry run (``done`` or ``failed``) back to ``pending`` for a new first
    attempt, with a fresh idempotency key: a dry run's answer must not be replayed from a
    cache. Returns whether it moved; the caller publishes it after commit."""
    moved = lifecycle.move(
        [task.pk], frm={TaskStatus.DONE, TaskStatus.FAILED}, to=TaskStatus.PENDING,
        attempts=0, next_attempt_at=now, finished_at=None, last_error="",
        idempotency_key=uuid.uuid4(), updated_at=now, **fields,
    )  # fmt: skip
    return bool(moved)


def recheck(request: RightsRequest, *, since) -> bool:
    """Before a cancellation's work starts, every system's ``check`` must have answered
    after ``since`` (the end of cooling-off): an order placed meanwhile still blocks.

    Starts the checks that are missing or older (with a fresh idempotency key: a dry run's
    answer must not be replayed from a cache) and returns False; True once all answered.
    Call with the request row locked.
    """
    now = timezone.now()
    started, settled = [], True
    for system in DownstreamSystem.objects.runnable():
        if not system.supports(Action.CHECK):
            continue
        task, new = FanoutTask.objects.get_or_create(
            request=request, system=system, action=Action.CHECK, defaults={"next_attempt_at": now}
        )
        stale = task.status in FINAL and (task.finished_at is None or task.finished_at < since)
        if stale:
            ask_check_again(task, now=now)
        if new or stale:
            started.append(str(task.pk))
        elif task.status != TaskStatus.DONE:
            settled = False  # running, or failed for staff to retry
    if started:
        transaction.on_commit(lambda: publish(started))
    return settled and not started
