"""Asking downstream systems for their dry run (``check``) again, when staff need a fresh answer.

A system's answer to ``check`` is what it knew when it answered. An open obligation it
reported (a balance, an open order, a dispute) may since have been resolved downstream, and
the legal checks, which re-run on the stored answer, would go on blocking. So:

- ``recheck``, the staff action, asks every system that supports ``check`` again;
- ``refresh_for_approval`` runs when staff approve: while an open obligation that no legal
  reviewer overrode blocks the request, the systems that reported it are asked again and the
  approval is refused (``ChecksPending``, 409) until they have answered. The fresh answers
  are then used by that approval (the checks re-run on them in the approval's guard, as
  always) and are used up: a later approval asks again.

A dry run staff asked again carries ``recheck_asked_at`` until an approval used its answer.
Neither function takes the request's row lock: a dry run's outcome locks its task and then
the request, and asking again only moves settled tasks with conditional updates, so two
approvals racing ask each system once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.fanout.models import FINAL, Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.plan import DRY_RUN_TYPES, ask_check_again
from dsar.fanout.publishing import publish
from dsar.legal.selectors import systems_with_blocking_obligations
from dsar.workflow.errors import Conflict
from dsar.workflow.models import RightsRequest, Status

# Where a fresh dry run can still change what happens: before approval, and before the
# work of an approved cancellation starts (its cooling-off end uses the fresh answers).
RECHECK_STATUSES = frozenset({Status.IN_REVIEW, Status.AWAITING_SUBJECT, Status.COOLING_OFF})
IN_FLIGHT = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.WAITING)


class ChecksPending(Conflict):
    """An approval waits for the fresh dry runs it asked for; nothing else changed."""

    code = "recheck_pending"


class RecheckFailed(Conflict):
    """A fresh dry run an approval needed failed; staff retry the system or legal overrides."""

    code = "recheck_failed"


def recheck(*, request: RightsRequest, user) -> int:
    """Staff: ask every system that supports ``check`` for a fresh dry run of ``request``;
    returns how many systems were asked; audited. Their answers replace the stored ones and
    the legal checks re-run on them (a resolved obligation stops blocking). Raises
    ``PermissionDenied`` for a role that may not approve, ``Conflict`` for a type that has
    no dry run (an inquiry, a complaint, an opt-out) or once the request is past the point
    where a dry run can change anything; nothing is asked then."""
    permissions.require(user, "recheck")
    if not can_recheck(request):
        raise Conflict(
            _(
                "%(reference)s is an inquiry or a complaint, or an opt-out: it asks no "
                "downstream system for a dry run, so there is none to ask again."
            )
            % {"reference": request.reference}
        )
    if request.status not in RECHECK_STATUSES:
        raise Conflict(
            f"{request.reference} is {request.status}: downstream systems are asked for a dry "
            "run again only while it is in review, awaiting the subject or cooling off."
        )
    systems = [s for s in DownstreamSystem.objects.runnable() if s.supports(Action.CHECK)]
    with transaction.atomic():
        _ask(request, systems, now=timezone.now())
        _audit(request, user, systems, reason="staff")
    return len(systems)


def can_recheck(request: RightsRequest) -> bool:
    """Whether ``request``'s type has dry runs to ask again (``plan.DRY_RUN_TYPES``)."""
    return request.type in DRY_RUN_TYPES


def refresh_for_approval(*, request: RightsRequest, user) -> None:
    """Before staff approve ``request`` in review: a blocking open obligation must rest on an
    answer its system gave after staff asked again.

    Returns at once when no such obligation blocks (or its system cannot be asked: disabled,
    or without ``check``), and when the fresh answers are in (used up now). Otherwise asks the
    systems again, commits that, and raises ``ChecksPending``; raises ``RecheckFailed`` when
    a fresh dry run failed."""
    if request.status != Status.IN_REVIEW:
        return
    names = systems_with_blocking_obligations(request)
    systems = [
        s for s in DownstreamSystem.objects.runnable().filter(name__in=names)
        if s.supports(Action.CHECK)
    ]  # fmt: skip
    if not systems:
        return
    tasks = request.fanout_tasks.filter(action=Action.CHECK, system__in=systems)
    fresh = [t for t in tasks.select_related("system") if t.status in FINAL and t.recheck_asked_at]
    if len(fresh) == len(systems):
        FanoutTask.objects.filter(pk__in=[t.pk for t in fresh]).update(recheck_asked_at=None)
        failed = sorted(t.system.name for t in fresh if t.status == TaskStatus.FAILED)
        if failed:
            raise RecheckFailed(
                f"The dry run of {', '.join(failed)} failed, so the open obligation it reported "
                f"for {request.reference} could not be checked again. Retry the system, or ask "
                "a legal reviewer to override the finding with a reason."
            )
        return
    answered = {t.system_id for t in fresh}
    with transaction.atomic():
        asked = _ask(request, [s for s in systems if s.pk not in answered], now=timezone.now())
        if asked:
            _audit(request, user, asked, reason="approval")
    waiting_for = ", ".join(sorted(s.name for s in systems if s.pk not in answered))
    raise ChecksPending(
        f"Re-checking downstream obligations with {waiting_for} for {request.reference}; "
        "try again when the check has answered."
    )


def _ask(request: RightsRequest, systems: list, *, now) -> list:
    """Ask each system's dry run again (created if missing), marked as asked by staff, and
    publish after commit; one already under way is only marked (its answer will be fresh).
    Returns the systems asked or marked now."""
    asked, started = [], []
    for system in systems:
        task, new = FanoutTask.objects.get_or_create(
            request=request, system=system, action=Action.CHECK,
            defaults={"next_attempt_at": now, "recheck_asked_at": now},
        )  # fmt: skip
        if new or ask_check_again(task, now=now, recheck_asked_at=now):
            started.append(str(task.pk))
            asked.append(system)
        elif task.recheck_asked_at is None and (
            FanoutTask.objects.filter(pk=task.pk, status__in=IN_FLIGHT).update(recheck_asked_at=now)
        ):
            asked.append(system)
    if started:
        transaction.on_commit(lambda: publish(started))
    return asked


def _audit(request: RightsRequest, user, systems: list, *, reason: str) -> None:
    record_event(
        action="fanout.recheck_asked",
        actor=Actor.staff(user),
        request_id=request.pk,
        payload={"reason": reason, "systems": sorted(s.name for s in systems)},
    )
