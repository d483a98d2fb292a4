"""Reads for the staff queue, the request page and the staff API (constant query counts)."""

from __future__ import annotations

from django.db.models import BooleanField, Case, Prefetch, Q, QuerySet, Value, When

from dsar.access import permissions
from dsar.audit.models import AuditEvent
from dsar.corrections.models import Correction
from dsar.fanout import rechecks
from dsar.fanout.rechecks import RECHECK_STATUSES
from dsar.fanout.selectors import failed_task_exists
from dsar.legal import relatives
from dsar.legal.fees import open_fee
from dsar.legal.models import FeeStatus
from dsar.legal.representation import RECORDABLE
from dsar.portal.selectors import replies_for
from dsar.sla.selectors import with_sla_state
from dsar.staff import duties
from dsar.staff.models import Note
from dsar.verification.selectors import current_challenge, latest_verification, pending_evidence
from dsar.workflow.models import ANSWERED_TYPES, RequestType, RightsRequest, Status
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
    "recheck": RECHECK_STATUSES,  # a fresh dry run downstream
    "decide_correction": frozenset({_S.IN_REVIEW}),  # correction requests only
    "override": OPEN_STATUSES,
    "hold": OPEN_STATUSES,
    "message": OPEN_STATUSES,
    "answer": staff_sources({_S.COMPLETED}, frm={_S.IN_REVIEW}),  # inquiries and complaints
    "propose_fee": frozenset({_S.IN_REVIEW}),  # on a repeated request, before any work
    "record_fee_payment": frozenset({_S.AWAITING_SUBJECT}),  # once the subject accepted
    "record_agent": RECORDABLE,  # a request an authorised agent filed, before any work
    "note": frozenset(Status),
    "reveal": frozenset(Status),
}


# The role-table action behind a page or API action of another name.
ROLE_ACTIONS = {"decide_correction": "approve"}


def queue(*, now) -> QuerySet:
    """Every request with its assignee, SLA state and ``has_failed_tasks`` (an open request
    with a failed downstream task: staff are flagged, SPEC §6), ready to filter and sort."""

    requests = RightsRequest.objects.select_related("assignee")
    return with_failed_tasks(with_sla_state(requests, now=now))


def failed_tasks_q() -> Q:
    """Open, and one of its downstream tasks failed: staff retry the system or decide
    without it. A closed request has nothing left to retry."""
    return Q(failed_task_exists(), status__in=OPEN_STATUSES)


def with_failed_tasks(queryset: QuerySet) -> QuerySet:
    """Annotate ``has_failed_tasks`` (:func:`failed_tasks_q`): one EXISTS in the page's own
    query, so the cost per page does not grow with the rows."""
    return queryset.annotate(
        has_failed_tasks=Case(
            When(failed_tasks_q(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


# Encrypted fields a list never shows: not loaded, so not decrypted row by row.
LIST_DEFERRED = ("email", "phone", "full_name", "account_id", "description")


def queue_list(*, now) -> QuerySet:
    return queue(now=now).defer(*LIST_DEFERRED)


def detail(*, now) -> QuerySet:
    """A request's detail: the queue's row with who filed it (read with the row, so the
    answer and the actions offered ask nothing more; ``legal.sources.who_filed``) and its
    notes."""
    return (
        queue(now=now)
        .select_related("representation")
        .prefetch_related(Prefetch("notes", queryset=Note.objects.select_related("author")))
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
    return AuditEvent.objects.filter(request_id=request.pk).in_order()


def allowed_actions(request: RightsRequest, *, user) -> list[str]:
    """Actions this user's roles allow on this request in its current state."""
    offered = []
    # A fee waiting for the subject or its payment: only its payment resumes the request.
    fee = open_fee(request) if request.status == Status.AWAITING_SUBJECT else None
    for action_name, statuses in ACTION_STATUSES.items():
        role_action = ROLE_ACTIONS.get(action_name, action_name)
        if request.status not in statuses or not permissions.can(user, role_action):
            continue
        if action_name == "decide_correction" and request.type != RequestType.CORRECTION:
            continue
        answered = request.type in ANSWERED_TYPES  # answered in writing, never approved
        if (action_name == "answer" and not answered) or (action_name == "approve" and answered):
            continue
        if action_name == "propose_fee" and answered:
            continue
        if action_name == "recheck" and not rechecks.can_recheck(request):
            continue  # no dry run to ask again: an inquiry, a complaint, an opt-out
        if action_name == "resume" and fee is not None:
            continue
        if action_name == "record_fee_payment" and (
            fee is None or fee.status != FeeStatus.ACCEPTED
        ):
            continue
        if action_name == "claim" and request.assignee_id is not None:
            continue
        if action_name == "extend" and request.extended_at is not None:
            continue
        if action_name == "approve" and duties.verified_it(request, user):
            continue  # separation of duties: someone else approves
        if action_name == "approve" and relatives.holds_back_work(relatives.who_filed(request)):
            continue  # a relative's request: legal approves the evidence first
        offered.append(action_name)
    return offered


def corrections(request: RightsRequest) -> list[Correction]:
    """The changes the subject proposed, in their order, with staff's decisions (no query
    for a request of another type)."""
    if request.type != RequestType.CORRECTION:
        return []
    return list(Correction.objects.filter(request=request).select_related("decided_by"))


def verification_record(request: RightsRequest) -> dict | None:
    """How the subject was verified, and by whom, without personal data."""

    record = latest_verification(request)
    if record is None:
        return None
    return {
        "method": record.method,
        "channel": record.channel,
        "strength": record.strength,
        "labels": {
            "method": record.get_method_display(),
            "channel": record.get_channel_display(),
            "strength": record.get_strength_display(),
        },
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
