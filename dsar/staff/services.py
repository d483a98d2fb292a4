"""Staff actions on requests. Each checks the role table, writes, and audits in one transaction.

Status changes go through ``dsar.workflow.transitions.transition``; the functions here add
the staff-specific parts (who may, what is recorded) around it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from dsar.access import permissions
from dsar.audit.services import Actor, appended_together, record_event
from dsar.fanout import rechecks
from dsar.legal import selectors as legal_selectors
from dsar.staff import duties
from dsar.staff.models import Note, StaffMessage
from dsar.verification import notices
from dsar.workflow import facts, transitions
from dsar.workflow.models import TERMINAL_STATUSES, RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


class AlreadyClaimed(TransitionError):
    """Someone else claimed the request first."""


def claim(*, request: RightsRequest, user) -> RightsRequest:
    """Make ``user`` the assignee if nobody is. Of two simultaneous claims exactly one wins.

    The conditional UPDATE only matches while ``assignee`` is empty, so the loser's update
    touches no row and it is told who holds the request instead.
    """
    permissions.require(user, "claim")
    with transaction.atomic():
        won = RightsRequest.objects.filter(
            pk=request.pk, assignee__isnull=True, status__in=_open_statuses()
        ).update(assignee=user)
        if not won:
            current = RightsRequest.objects.select_related("assignee").get(pk=request.pk)
            holder = current.assignee.get_username() if current.assignee else None
            raise AlreadyClaimed(
                f"{current.reference} is already claimed by {holder}."
                if holder
                else f"{current.reference} is closed and cannot be claimed.",
                current=current.status,
            )
        record_event(
            action="request.claimed",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"assignee": user.pk},
        )
    request.refresh_from_db()
    return request


def assign(*, request: RightsRequest, user, assignee_id: int | None) -> RightsRequest:
    """Give the request to a staff member (or nobody)."""
    permissions.require(user, "assign")
    assignee = None
    if assignee_id is not None:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is None or not permissions.is_staff_member(assignee):
            raise ValidationError({"assignee": ["Choose an active staff member."]})
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status not in _open_statuses():
            raise TransitionError(f"{locked.reference} is closed.", current=locked.status)
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        record_event(
            action="request.assigned",
            actor=Actor.staff(user),
            request_id=locked.pk,
            payload={"assignee": assignee.pk if assignee else None},
        )
    request.refresh_from_db()
    return request


def bulk_assign(*, request_ids: list, user, assignee_id: int | None) -> int:
    """Assign several requests at once; closed ones are skipped. Returns how many changed."""
    changed = 0
    for request in RightsRequest.objects.filter(pk__in=request_ids, status__in=_open_statuses()):
        assign(request=request, user=user, assignee_id=assignee_id)
        changed += 1
    return changed


def reveal_identity(*, request: RightsRequest, user) -> dict:
    """The subject's identity in clear, for a staff member who needs it; every reveal is audited."""
    permissions.require(user, "reveal")
    with transaction.atomic():
        record_event(action="identity.revealed", actor=Actor.staff(user), request_id=request.pk)
    return {
        "email": request.email,
        "phone": request.phone,
        "full_name": request.full_name,
        "account_id": request.account_id,
    }


def add_note(*, request: RightsRequest, user, body: str) -> Note:
    permissions.require(user, "note")
    body = body.strip()
    if not body:
        raise ValidationError({"body": ["Write something in the note."]})
    with transaction.atomic():
        note = Note.objects.create(request=request, author=user, body=body)
        record_event(
            action="note.added",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"note_id": str(note.pk)},
        )
    return note


def approve(*, request: RightsRequest, user, acknowledged=()) -> RightsRequest:
    """Approve fulfilment: cancellation enters cooling-off, the other types start processing.

    A deletion or cancellation cannot be undone: each of its advisory findings must be among
    ``acknowledged`` (finding ids), else ``ValidationError`` on ``acknowledged``, naming each
    one; the acknowledgement is audited with the approval.

    Raises ``SeparationOfDuties`` (a ``PermissionDenied``, audited) when ``user`` verified an
    access, deletion or cancellation request themselves: someone else approves those. While
    an open obligation a downstream system reported blocks it, the system is first asked
    for a fresh dry run: ``ChecksPending`` (a ``Conflict``) until it has answered.

    ``request`` is read under its row lock here (an instance with only its primary key will
    do; ``DoesNotExist`` if there is none). Inside ``facts.once(request)`` the caller can
    build its answer from the rows the approval read.
    """
    permissions.require(user, "approve")
    # One transaction from the row lock on, the lock reused by transition(), and one append
    # for the move, its effects and the acknowledgement. A refusal keeps what was written
    # before it (the refused attempt audited, systems asked again, fresh answers used up):
    # the move itself runs in its own savepoint, so a refused move leaves nothing behind.
    refused = None
    with facts.once(request), transaction.atomic(), appended_together():
        transitions.lock(request)
        try:
            duties.require_another_approver(request, user)
            rechecks.refresh_for_approval(request=request, user=user)
            _approve_locked(request, user, acknowledged)
        except (
            duties.SeparationOfDuties, rechecks.ChecksPending, rechecks.RecheckFailed,
            ValidationError, TransitionError,
        ) as exc:  # fmt: skip
            refused = exc
    if refused is not None:
        raise refused
    return request


def _approve_locked(request: RightsRequest, user, acknowledged) -> None:
    advisories = legal_selectors.advisories_to_acknowledge(request)
    given = {str(pk) for pk in acknowledged}
    missing = [f for f in advisories if str(f.pk) not in given]
    if missing:
        raise ValidationError(
            {
                "acknowledged": [
                    _("Acknowledge the advisory finding “%(check)s”: %(explanation)s")
                    % {"check": f.title, "explanation": f.explanation}
                    for f in missing
                ]
            }
        )
    to = Status.COOLING_OFF if request.type == RequestType.CANCELLATION else Status.PROCESSING
    transition(request, to=to, actor=Actor.staff(user))
    if advisories:
        record_event(
            action="approval.advisories_acknowledged",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"findings": sorted(f.check_name for f in advisories)},
        )


def request_info(*, request: RightsRequest, user, reason: str) -> RightsRequest:
    """Ask the subject for more information; the SLA clock pauses until they reply."""
    permissions.require(user, "request_info")
    if not reason.strip():
        raise ValidationError({"reason": ["Say what information is needed."]})
    with transaction.atomic():
        transition(request, to=Status.AWAITING_SUBJECT, actor=Actor.staff(user))
        _send_message(request=request, user=user, body=reason.strip())
    return request


def message_subject(*, request: RightsRequest, user, body: str) -> StaffMessage:
    """Write to the subject through the verified channel; the text is kept, encrypted."""
    permissions.require(user, "message")
    if not body.strip():
        raise ValidationError({"body": ["Write the message."]})
    with transaction.atomic():
        return _send_message(request=request, user=user, body=body.strip())


def _send_message(*, request: RightsRequest, user, body: str) -> StaffMessage:
    message = StaffMessage.objects.create(request=request, author=user, body=body)
    # The text goes to the subject, not into the audit trail (it may quote personal data).
    record_event(
        action="message.sent",
        actor=Actor.staff(user),
        request_id=request.pk,
        payload={"message_id": str(message.pk)},
    )
    notices.notify(
        request,
        "staff_message",
        body=body,
        awaiting=request.status == Status.AWAITING_SUBJECT,
    )
    return message


def resume(*, request: RightsRequest, user) -> RightsRequest:
    permissions.require(user, "resume")
    return transition(request, to=Status.IN_REVIEW, actor=Actor.staff(user))


def _open_statuses() -> list[str]:
    return [s for s in Status if s not in TERMINAL_STATUSES]


def anonymise(request, *, now) -> None:
    """Record retention: staff notes and messages to the subject go."""
    request.notes.all().delete()
    request.staff_messages.all().delete()
