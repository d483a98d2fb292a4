"""The fan-out's entry points for the other parts: start a request's work, ask for dry runs,
and let staff retry a system.

The engine behind them is split by job: ``plan`` (which tasks, in which stages),
``dispatch`` (claim, call), ``outcomes`` (recording results, callbacks), ``completion``
(moving a request on), ``reconciler`` (the beat's watchdog), ``keys`` (what a system may act
on) and ``publishing`` (the Celery messages). Status writes go through ``lifecycle``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.fanout import lifecycle
from dsar.fanout.models import Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.plan import open_stage
from dsar.fanout.publishing import publish, publish_completion
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import ENTERED_ONCE


def start(request: RightsRequest) -> list[str]:
    """Create the first stage's tasks for a request entering processing (see ``plan``).

    Called inside the transition's transaction; messages are published after commit. With
    nothing to act on, the completion check still runs and completes the request at once.
    """
    # Processing is entered once, so a request entering it has no work rows to read.
    ids = open_stage(request, first=Status.PROCESSING in ENTERED_ONCE).created
    record_event(
        action="fanout.started",
        actor=Actor.system("fanout"),
        request_id=request.pk,
        payload={"tasks": len(ids)},
    )
    request_id = str(request.pk)
    transaction.on_commit(lambda: publish(ids) if ids else publish_completion(request_id))
    return ids


def start_checks(request: RightsRequest) -> list[FanoutTask]:
    """Ask every system that supports it for a dry run (``check``) when review starts.

    What the systems report (open obligations, the identities they hold for the account,
    data categories under retention) goes to the legal checks; see ``outcomes``.
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


def retry(*, request: RightsRequest, user, system_id: int) -> int:
    """Staff: run a system's failed tasks of this request again from the first attempt;
    returns how many; audited. Raises PermissionDenied for a role that may not retry."""
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
