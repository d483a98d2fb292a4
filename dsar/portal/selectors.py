"""Reads for the subject's pages and the public API."""

from dsar.audit.models import AuditEvent
from dsar.branding import services as branding
from dsar.corrections.models import Correction
from dsar.exports import review
from dsar.exports import services as exports
from dsar.legal.fees import latest_fee
from dsar.legal.models import CLOSURE_REASONS, Basis, DecisionKind
from dsar.legal.representation import representation_for
from dsar.legal.selectors import decision_for
from dsar.portal.models import SubjectReply
from dsar.sla import clock
from dsar.verification.tokens import InvalidStatusToken, read_status_token
from dsar.workflow.models import TERMINAL_STATUSES, Outcome, RequestType, RightsRequest, Status


def request_for_token(*, request_id, token: str) -> RightsRequest:
    """The request a valid status token opens; ``Http404`` for any token that does not fit."""
    pk = read_status_token(token, request_id)
    try:
        return RightsRequest.objects.get(pk=pk)
    except RightsRequest.DoesNotExist as exc:
        raise InvalidStatusToken() from exc


def opened_request(*, request_id) -> RightsRequest | None:
    """The request a page key named (``tokens.opened_request_id``), if it still exists."""
    return RightsRequest.objects.filter(pk=request_id).first() if request_id else None


def public_timeline(request: RightsRequest) -> list[dict]:
    """When the request entered each status, oldest first; nothing about who acted."""
    events = AuditEvent.objects.filter(
        request_id=request.pk, action__in=["request.created", "request.transition"]
    ).in_order()
    return [
        {"at": e.occurred_at, "status": e.to_status, "label": Status(e.to_status).label}
        for e in events
        if e.to_status
    ]


def corrections_for(request: RightsRequest) -> list[Correction]:
    return list(Correction.objects.filter(request=request))


def replies_for(request: RightsRequest) -> list[SubjectReply]:
    return list(SubjectReply.objects.filter(request=request))


def questions_for(request: RightsRequest) -> list:
    """What staff wrote to the subject (the question a paused request waits on among it),
    oldest first; the subject was sent each of them already."""
    return list(request.staff_messages.order_by("created_at"))


def denial_for(request: RightsRequest) -> dict | None:
    """The basis and explanation of a refusal, as the subject was told them."""
    decision = decision_for(request, kind=DecisionKind.DENIAL)
    if decision is None or request.status != Status.DENIED:
        return None
    return {
        "basis_label": Basis(decision.basis).label,
        "basis_detail": decision.basis_detail,
        "is_closure": decision.basis in CLOSURE_REASONS,
        "explanation": decision.explanation,
        "complaint_contact": branding.complaint_contact(),
    }


def download_for(request: RightsRequest) -> dict | None:
    """The access package's link for the status page: its secret (posted by the page's
    Download button, never put in an address), expiry and downloads left."""
    if request.type != RequestType.ACCESS or request.status != Status.COMPLETED:
        return None
    package = exports.latest_package(request)
    if package is None:
        return {"reviewing": True} if review.pending(request) else None
    usable = exports.is_usable(package)
    return {
        "usable": usable,
        "token": exports.download_token(package),  # downloads, or asks for a fresh link
        "expires_at": package.expires_at,
        "downloads_left": package.downloads_left,
    }


def public_status(request: RightsRequest) -> dict:
    """What the subject may see of their request, for the status page and the API."""
    return {
        "id": request.pk,
        "reference": request.reference,
        "type": request.type,
        "status": request.status,
        "status_label": Status(request.status).label,
        "outcome": request.outcome,
        "outcome_label": Outcome(request.outcome).label if request.outcome else "",
        "received_at": request.received_at,
        "verified_at": request.verified_at,
        "due_at": request.due_at,
        "due_display": clock.format_deadline(request.due_at) if request.due_at else None,
        "closed_at": request.closed_at,
        "cooling_off_ends_at": (
            request.cooling_off_ends_at if request.status == Status.COOLING_OFF else None
        ),
        "can_withdraw": request.status not in TERMINAL_STATUSES,
        "can_reply": request.status == Status.AWAITING_SUBJECT,
        "needs_verification": request.status == Status.PENDING_VERIFICATION,
        "timeline": public_timeline(request),
    }


def fee_for(request: RightsRequest):
    """The latest cost fee proposed on the request, for its status page (None when none)."""
    return latest_fee(request)


def representation_of(request: RightsRequest):
    """Who filed the request for its subject, if someone else did (None otherwise)."""
    return representation_for(request)
