"""Staff decisions on legal exceptions: denial, partial fulfilment, overriding a finding.

A refusal or a limit always rests on a basis from the fixed list (``models.Basis``) and
an explanation, and the subject is told both, with how to complain or go to court (PIPL
Art. 50), in their language. Who may decide comes from ``dsar.access.permissions``: denial
and partial fulfilment need ``deny`` (legal, supervisor), overrides need ``override``
(legal only).
"""

import uuid

from django.db import transaction
from django.utils import timezone

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.branding import services as branding
from dsar.legal import selectors
from dsar.legal.errors import LegalInputError
from dsar.legal.models import CLOSURE_REASONS, Basis, Decision, DecisionKind, Finding, Severity
from dsar.verification import notices
from dsar.workflow.models import TERMINAL_STATUSES, RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition

PARTIAL_STATUSES = frozenset({Status.IN_REVIEW, Status.COOLING_OFF, Status.PROCESSING})


def _validate(basis: str, explanation: str, basis_detail: str) -> None:
    if basis not in Basis.values:
        raise LegalInputError.on(
            "basis", "Choose a basis from the list: " + ", ".join(Basis.values) + "."
        )
    if basis == Basis.OTHER and not basis_detail.strip():
        raise LegalInputError.on("basis_detail", "Name the legal basis when you choose 'other'.")
    if not explanation.strip():
        raise LegalInputError.on("explanation", "Write the explanation the subject will receive.")


def _tell_subject(request: RightsRequest, template: str, decision: Decision, **extra) -> None:
    """Tell the subject, in their language, what was decided and how to contest it: by
    email, or by a short SMS pointing to the status page for a subject who gave only a
    phone number."""
    notices.notify(
        request,
        template,
        basis_label=Basis(decision.basis).label,
        basis_detail=decision.basis_detail,
        is_closure=decision.basis in CLOSURE_REASONS,
        explanation=decision.explanation,
        excluded=decision.excluded,
        complaint_contact=branding.complaint_contact(request.language),
        **extra,
    )


def deny_request(
    *, request: RightsRequest, user, basis: str, explanation: str, basis_detail: str = ""
) -> Decision:
    """Refuse ``request`` (in review) on ``basis`` with ``explanation``, and email the subject
    the basis, the explanation and the complaint and lawsuit route. Raises
    ``PermissionDenied``, ``LegalInputError`` (missing basis or explanation) or
    ``TransitionError`` (not in review); in each case nothing changes."""
    require(user, "deny")
    _validate(basis, explanation, basis_detail)
    decision_id = uuid.uuid4()
    with transaction.atomic():
        # The transition goes first: a request not in review is refused before anything else.
        transition(
            request,
            to=Status.DENIED,
            actor=Actor.staff(user),
            reason=basis,
            payload={"basis": basis, "decision_id": str(decision_id)},
        )
        decision = Decision.objects.create(
            id=decision_id,
            request=request,
            kind=DecisionKind.DENIAL,
            basis=basis,
            basis_detail=basis_detail.strip(),
            explanation=explanation.strip(),
            decided_by=user,
            decided_at=timezone.now(),
        )
        _tell_subject(request, "decision_denied", decision)
    return decision


def record_partial_fulfilment(
    *,
    request: RightsRequest,
    user,
    basis: str,
    explanation: str,
    excluded: str,
    basis_detail: str = "",
) -> Decision:
    """Record that part of ``request`` will not be fulfilled (``excluded`` says which part)
    on ``basis``; the request then completes as ``partial`` and the subject is emailed the
    basis, explanation and complaint route when it does. Replaces an earlier partial
    decision of the same request."""
    require(user, "deny")
    _validate(basis, explanation, basis_detail)
    if not excluded.strip():
        raise LegalInputError.on("excluded", "Say which part of the request is not fulfilled.")
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status not in PARTIAL_STATUSES:
            raise TransitionError(
                f"Request {locked.reference} is {locked.status}; a partial fulfilment can only "
                "be recorded while it is in review, cooling off or processing.",
                current=locked.status,
            )
        decision, _ = Decision.objects.update_or_create(
            request=locked,
            kind=DecisionKind.PARTIAL,
            defaults={
                "basis": basis,
                "basis_detail": basis_detail.strip(),
                "explanation": explanation.strip(),
                "excluded": excluded.strip(),
                "decided_by": user,
                "decided_at": timezone.now(),
            },
        )
        record_event(
            action="legal.partial_fulfilment",
            actor=Actor.staff(user),
            request_id=locked.pk,
            payload={"basis": basis, "decision_id": str(decision.pk)},
        )
    return decision


def tell_partial_outcome(request: RightsRequest) -> None:
    """Email the subject of a request completed in part what was kept or left out, and why
    (called by the workflow when a request completes as ``partial``). A correction completed
    in part without a staff decision is explained by its own notice (``correction_done``)."""
    recorded = selectors.decision_for(request, kind=DecisionKind.PARTIAL)
    if recorded is None and request.type == RequestType.CORRECTION:
        return
    decision = recorded or Decision(
        request=request,
        kind=DecisionKind.PARTIAL,
        basis=Basis.LEGAL_OBLIGATION,
        explanation="",
    )
    kept = [
        {"name": d.name, "legal_basis": d.legal_basis, "until": timezone.localdate(d.due_at)}
        for d in selectors.deferred_deletions_for(request)
    ]
    _tell_subject(request, "decision_partial", decision, kept=kept)


def override_finding(*, finding: Finding, user, reason: str) -> Finding:
    """Let a request go ahead despite a blocking finding. Only the ``legal`` role may, with a
    reason; the override is audited and stays valid while re-runs find the same thing.
    Raises ``PermissionDenied`` or ``LegalInputError`` (nothing changes)."""
    require(user, "override")
    if not reason.strip():
        raise LegalInputError.on("reason", "Say why this finding may be overridden.")
    with transaction.atomic():
        locked = Finding.objects.select_for_update().select_related("request").get(pk=finding.pk)
        if locked.severity != Severity.BLOCKING:
            raise LegalInputError.on("finding", "Only a blocking finding needs an override.")
        if locked.overridden_at is not None:
            raise LegalInputError.on("finding", "This finding has already been overridden.")
        if locked.request.status in TERMINAL_STATUSES:
            raise LegalInputError.on("finding", "The request is closed; nothing to override.")
        locked.overridden_by = user
        locked.overridden_at = timezone.now()
        locked.override_reason = reason.strip()
        locked.save(update_fields=["overridden_by", "overridden_at", "override_reason"])
        record_event(
            action="legal.finding_overridden",
            actor=Actor.staff(user),
            request_id=locked.request_id,
            payload={"finding_id": locked.pk, "check": locked.check_name, "key": locked.key},
        )
    for attr in ("overridden_by", "overridden_at", "override_reason"):
        setattr(finding, attr, getattr(locked, attr))
    return finding


def anonymise(request, *, now) -> None:
    """Record retention: decision texts go; the kind and legal basis stay for the record."""
    request.decisions.update(explanation="", basis_detail="", excluded="")
