"""Reads for the staff queue, the request page and the staff API (constant query counts)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from dsar.access import permissions
from dsar.audit.models import AuditEvent
from dsar.portal.selectors import replies_for
from dsar.sla.selectors import with_sla_state
from dsar.staff import duties
from dsar.staff.models import Note
from dsar.verification.selectors import current_challenge, latest_verification, pending_evidence
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import LIVE_STATUSES, OPEN_STATUSES, staff_sources

# Staff actions offered on the request page, by the statuses where they make sense.
# In which statuses each staff action is offered; the moves come from the transition table.
_S = Status
ACTION_STATUSES: dict[str, frozenset[str]] = {
    "claim": OPEN_STATUSES,
    "assign": OPEN_STATUSES,
    "verify": staff_sources({_S.IN_REVIEW}, frm={_S.PENDING_VERIFICATION}),
    "approve": staff_sources({_S.PROCESSING, _S.COOLING_OFF}),
    "request_info": staff_sources({_S.AWAITING_SUBJECT}),
    "resume": staff_sources({_S.IN_REVIEW}, frm={_S.AWAITING_SUBJECT}),
    "deny": staff_sources({_S.DENIED}),
    "extend": LIVE_STATUSES,
    "retry": frozenset({_S.PROCESSING}),  # a fan-out task, not a move of the request
    "override": OPEN_STATUSES,
    "hold": OPEN_STATUSES,
    "message": OPEN_STATUSES,
    "note": frozenset(Status),
    "reveal": frozenset(Status),
}


def queue(*, now) -> QuerySet:
    """Every request with its assignee and SLA state, ready to filter and sort."""

    return with_sla_state(RightsRequest.objects.select_related("assignee"), now=now)


# Encrypted fields a list never shows: not loaded, so not decrypted row by row.
LIST_DEFERRED = ("email", "phone", "full_name", "account_id", "description")


def queue_list(*, now) -> QuerySet:
    return queue(now=now).defer(*LIST_DEFERRED)


def detail(*, now) -> QuerySet:
    return queue(now=now).prefetch_related(
        Prefetch("notes", queryset=Note.objects.select_related("author"))
    )


def masked_identity(request: RightsRequest) -> dict:
    """Enough to recognise a subject on screen without disclosing who they are."""
    return {
        "email": _mask_email(request.email),
        "phone": _mask_phone(request.phone),
        "full_name": (request.full_name[:1] + "＊" * 2) if request.full_name else "",
        "account_id": ("＊" * 4 + request.account_id[-2:]) if request.account_id else "",
    }


def _mask_email(email: str) -> str:
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _mask_phone(phone: str) -> str:
    return f"{phone[:-8]}****{phone[-4:]}" if len(phone) > 8 else ("****" if phone else "")


def timeline(request: RightsRequest) -> QuerySet:
    return AuditEvent.objects.filter(request_id=request.pk).order_by("seq")


def allowed_actions(request: RightsRequest, *, user) -> list[str]:
    """Actions this user's roles allow on this request in its current state."""
    offered = []
    for action_name, statuses in ACTION_STATUSES.items():
        if request.status not in statuses or not permissions.can(user, action_name):
            continue
        if action_name == "claim" and request.assignee_id is not None:
            continue
        if action_name == "extend" and request.extended_at is not None:
            continue
        if action_name == "approve" and duties.verified_it(request, user):
            continue  # separation of duties: someone else approves
        offered.append(action_name)
    return offered


def verification_record(request: RightsRequest) -> dict | None:
    """How the subject was verified, and by whom, without personal data."""

    record = latest_verification(request)
    if record is None:
        return None
    return {
        "method": record.method,
        "channel": record.channel,
        "strength": record.strength,
        "reviewer": record.reviewer.get_username() if record.reviewer else None,
        "at": record.created_at,
    }


def read_back_code(request: RightsRequest):
    """The code staff last sent for the subject to read back, if it can still be entered."""

    return current_challenge(request, read_back=True)


def evidence_awaiting_review(request: RightsRequest) -> list:
    return pending_evidence(request)


def conversation(request: RightsRequest) -> list[dict]:
    """Messages between staff and the subject, oldest first."""

    sent = [
        {"at": m.created_at, "from_subject": False, "author": m.author, "body": m.body}
        for m in request.staff_messages.select_related("author")
    ]
    received = [
        {
            "at": r.created_at,
            "from_subject": True,
            "author": None,
            "body": r.body,
            "reply_id": r.pk,
            "attachment_type": r.attachment_type,
        }
        for r in replies_for(request)
    ]
    return sorted(sent + received, key=lambda m: m["at"])
