"""Cost fees for repeated requests (GB/T 35273-2020 §8.7; PIPL Art. 50; the seeds' "对多次重复、
超出合理限度的请求，我们将视情况收取一定成本费用").

A fee rests on the request's ``repeated_requests`` finding: no finding, no fee (a first
request in the period is free). Proposing one tells the subject before any work starts and
moves the request to ``awaiting_subject`` through the transition table, so the SLA clock
pauses as it does for a question. The subject accepts on the status page, or withdraws the
request (which ends it). The request goes back to review, and the clock runs again, only when
staff record the payment of an accepted fee; until then the guard ``refuse_while_unpaid``
refuses every way out of the wait but withdrawal.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.legal import checks
from dsar.legal.errors import LegalInputError
from dsar.legal.models import FEE_CURRENCIES, OPEN_FEE_STATUSES, Fee, FeeStatus, Finding
from dsar.verification import notices
from dsar.workflow import facts
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition

MAX_AMOUNT = Decimal("10000.00")
MAX_REASON = 2000
MAX_REFERENCE = 100


def open_fee(request: RightsRequest) -> Fee | None:
    """The request's fee still waiting for acceptance or payment, if any."""
    if facts.active(request):
        return next((f for f in _fees(request) if f.status in OPEN_FEE_STATUSES), None)
    return Fee.objects.filter(request=request, status__in=OPEN_FEE_STATUSES).first()


def latest_fee(request: RightsRequest) -> Fee | None:
    if facts.active(request):
        return next(iter(_fees(request)), None)
    return Fee.objects.filter(request=request).order_by("-proposed_at").first()


def _fees(request: RightsRequest) -> list[Fee]:
    """Inside ``facts.once``: the request's fees, latest first, read once for the guard and
    the answer."""
    return facts.read(
        request, "fees", lambda: list(Fee.objects.filter(request=request).order_by("-proposed_at"))
    )


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise LegalInputError.on("amount", _("Enter the amount as a number, e.g. 30.00.")) from None
    if not amount.is_finite() or amount <= 0:
        raise LegalInputError.on("amount", _("The amount must be more than zero."))
    if amount > MAX_AMOUNT:
        raise LegalInputError.on(
            "amount", _("A cost fee is at most %(max)s.") % {"max": MAX_AMOUNT}
        )
    if amount.as_tuple().exponent < -2:
        raise LegalInputError.on("amount", _("Use at most two decimal places."))
    return amount.quantize(Decimal("0.01"))


def _repeat_finding(request: RightsRequest, finding_id) -> Finding:
    finding = Finding.objects.filter(
        request=request, check_name="repeated_requests", pk=_int(finding_id)
    ).first()
    # The stored finding must still hold: the check is asked again now.
    if finding is None or not checks.repeated_requests(request):
        raise LegalInputError.on(
            "finding",
            _(
                "A fee needs this request's repeated-requests finding; a first request in "
                "the period is free."
            ),
        )
    return finding


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def propose_fee(
    *, request: RightsRequest, user, amount, reason: str, finding, currency: str = "CNY"
) -> Fee:
    """Propose a cost fee on a request in review that has a repeated-requests finding.

    Tells the subject (email or SMS) and pauses the clock (``in_review → awaiting_subject``).
    Raises ``PermissionDenied``, ``LegalInputError`` (field messages: ``amount``,
    ``currency``, ``reason``, ``finding``) or ``TransitionError``; nothing is written then."""
    permissions.require(user, "propose_fee")
    errors = {}
    for check in (lambda: _amount(amount), lambda: _repeat_finding(request, finding)):
        try:
            check()
        except LegalInputError as error:
            errors.update(error.message_dict)
    currency = (currency or "CNY").strip().upper()
    if currency not in FEE_CURRENCIES:
        errors["currency"] = [
            _("Choose one of: %(currencies)s.") % {"currencies": ", ".join(FEE_CURRENCIES)}
        ]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why a fee is charged; the subject reads it.")]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [_("Keep the reason under %(max)d characters.") % {"max": MAX_REASON}]
    if errors:
        raise LegalInputError(errors)
    with transaction.atomic():
        if request.status != Status.IN_REVIEW:
            raise TransitionError(
                f"A fee is proposed while the request is in review, before any work starts; "
                f"{request.reference} is {request.status}.",
                current=request.status,
            )
        request = transition(
            request, to=Status.AWAITING_SUBJECT, actor=Actor.staff(user), payload={"fee": True}
        )
        fee = Fee.objects.create(
            request=request,
            finding=_repeat_finding(request, finding),
            amount=_amount(amount),
            currency=currency,
            reason=reason,
            proposed_by=user,
            proposed_at=timezone.now(),
        )
        record_event(
            action="fee.proposed",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"fee_id": str(fee.pk), "amount": str(fee.amount), "currency": currency},
        )
        notices.notify(
            request,
            "fee_proposed",
            amount=str(fee.amount),
            currency=currency,
            reason=reason,
        )
    return fee


def accept_fee(*, request: RightsRequest) -> Fee:
    """The subject accepts the proposed fee (from their status page). The clock stays paused
    until staff record the payment. ``TransitionError`` when no fee waits for acceptance."""
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        fee = Fee.objects.filter(request=locked, status=FeeStatus.PROPOSED).first()
        if fee is None or locked.status != Status.AWAITING_SUBJECT:
            raise TransitionError(
                _("Request %(reference)s has no fee waiting for your answer.")
                % {"reference": locked.reference},
                current=locked.status,
            )
        fee.status = FeeStatus.ACCEPTED
        fee.accepted_at = timezone.now()
        fee.save(update_fields=["status", "accepted_at"])
        record_event(
            action="fee.accepted",
            actor=Actor.subject(),
            request_id=locked.pk,
            payload={"fee_id": str(fee.pk)},
        )
    return fee


def record_payment(*, request: RightsRequest, user, reference: str, paid_at=None) -> Fee:
    """Staff record that the subject paid an accepted fee (who, when, the payment's
    reference); the request goes back to review and the clock runs again, the deadline moved
    by the whole days paused. Raises ``PermissionDenied``, ``LegalInputError``
    (``reference``, ``paid_at``) or ``TransitionError`` (no accepted fee)."""
    permissions.require(user, "record_fee_payment")
    now = timezone.now()
    errors = {}
    reference = (reference or "").strip()
    if not reference:
        errors["reference"] = [_("Enter the payment's reference (receipt or transaction no.).")]
    elif len(reference) > MAX_REFERENCE:
        errors["reference"] = [
            _("Keep the reference under %(max)d characters.") % {"max": MAX_REFERENCE}
        ]
    paid_at = paid_at or now
    if paid_at > now:
        errors["paid_at"] = [_("The payment cannot be in the future.")]
    if errors:
        raise LegalInputError(errors)
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        fee = open_fee(locked)
        if fee is None or fee.status != FeeStatus.ACCEPTED:
            raise TransitionError(
                f"Request {locked.reference} has no fee the subject accepted; a payment is "
                "recorded only after the subject accepts.",
                current=locked.status,
            )
        if paid_at < fee.proposed_at:
            raise LegalInputError.on("paid_at", _("The payment cannot precede the fee."))
        fee.status = FeeStatus.PAID
        fee.paid_at = paid_at
        fee.payment_reference = reference
        fee.payment_recorded_by = user
        fee.payment_recorded_at = now
        fee.closed_at = now
        fee.save(
            update_fields=[
                "status",
                "paid_at",
                "payment_reference",
                "payment_recorded_by",
                "payment_recorded_at",
                "closed_at",
            ]
        )
        # The reference stays in the fee row (encrypted), not in the audit trail.
        record_event(
            action="fee.paid",
            actor=Actor.staff(user),
            request_id=locked.pk,
            payload={"fee_id": str(fee.pk), "paid_at": paid_at.isoformat()},
        )
        transition(request, to=Status.IN_REVIEW, actor=Actor.staff(user), payload={"fee": True})
    return fee


def refuse_while_unpaid(request: RightsRequest) -> None:
    """Guard: a request with an open fee does not go back to review (nor on to the work)
    before the subject accepted and staff recorded the payment."""
    fee = open_fee(request)
    if fee is not None:
        raise TransitionError(
            f"Request {request.reference} waits for its fee: the subject accepts it and staff "
            "record the payment before the work goes on.",
            current=request.status,
        )


def close_on_withdrawal(request: RightsRequest) -> None:
    """Reaction: a request withdrawn while its fee was open ends the fee too."""
    now = timezone.now()
    for fee in Fee.objects.filter(request=request, status__in=OPEN_FEE_STATUSES):
        fee.status = FeeStatus.WITHDRAWN
        fee.closed_at = now
        fee.save(update_fields=["status", "closed_at"])
        record_event(
            action="fee.withdrawn",
            actor=Actor.subject(),
            request_id=request.pk,
            payload={"fee_id": str(fee.pk)},
        )


def anonymise(request, *, now) -> None:
    """Record retention: the reason and payment reference go; amount and dates stay for the
    metrics."""
    Fee.objects.filter(request=request).update(reason="", payment_reference="")
