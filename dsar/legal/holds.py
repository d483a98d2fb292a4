"""Placing and lifting legal holds. Only the ``legal`` role may do either.

A hold is matched by the keyed hash of the subject's email or phone, so it covers every
request of that subject, present and future. Placing or lifting one re-runs the checks of
the subject's open requests at once, so a hold placed after approval stops processing.
The subject is never told about a hold (an investigation must not be tipped off).
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.legal import engine
from dsar.legal.errors import LegalInputError
from dsar.legal.models import HoldKind, LegalHold
from dsar.workflow import identity
from dsar.workflow.models import RightsRequest


def check_hold_input(
    *, kind: str, reason: str, reference: str, email: str, phone: str, ends_on=None
) -> tuple[str, str]:
    """Validate what a new hold needs and return the normalised (email, phone); raises
    ``LegalInputError`` naming the field to fix (forms call it to show errors early)."""
    email, phone = _normalised_identity(email, phone)
    _validate(kind, reason, reference, ends_on)
    return email, phone


def _normalised_identity(email: str, phone: str) -> tuple[str, str]:
    email, phone = (email or "").strip(), (phone or "").strip()
    if not (email or phone):
        raise LegalInputError.on("email", "Give the email address or phone number to hold.")
    try:
        email = identity.normalise_email(email) if email else ""
    except identity.InvalidIdentity as exc:
        raise LegalInputError.on("email", str(exc)) from exc
    try:
        phone = identity.normalise_phone(phone) if phone else ""
    except identity.InvalidIdentity as exc:
        raise LegalInputError.on("phone", str(exc)) from exc
    return email, phone


def _validate(kind: str, reason: str, reference: str, ends_on: dt.date | None) -> None:
    if kind not in HoldKind.values:
        raise LegalInputError.on("kind", "Choose the kind of hold: " + ", ".join(HoldKind.values))
    if not reason.strip():
        raise LegalInputError.on("reason", "Say why the subject's data must be held.")
    if not reference.strip():
        raise LegalInputError.on("reference", "Give the case, investigation or order number.")
    if ends_on is not None and ends_on < timezone.localdate():
        raise LegalInputError.on("ends_on", "The end date has already passed.")


def place_hold(
    *,
    user,
    kind: str,
    reason: str,
    reference: str,
    email: str = "",
    phone: str = "",
    ends_on: dt.date | None = None,
) -> LegalHold:
    """Hold everything about the subject with this email or phone until lifted (or until
    ``ends_on``, inclusive). Raises ``PermissionDenied`` unless ``user`` has the legal role,
    ``LegalInputError`` for bad input (nothing written)."""
    require(user, "hold")
    email, phone = check_hold_input(
        kind=kind, reason=reason, reference=reference, email=email, phone=phone, ends_on=ends_on
    )
    with transaction.atomic():
        hold = LegalHold.objects.create(
            email=email,
            phone=phone,
            email_hash=identity.email_hash(email),
            phone_hash=identity.phone_hash(phone),
            kind=kind,
            reason=reason.strip(),
            reference=reference.strip(),
            ends_on=ends_on,
            created_by=user,
            created_at=timezone.now(),
        )
        record_event(
            action="legal.hold_placed",
            actor=Actor.staff(user),
            payload={
                "hold_id": str(hold.pk),
                "kind": kind,
                "ends_on": ends_on.isoformat() if ends_on else None,
            },
        )
        engine.recheck_open_requests(hashes={hold.email_hash, hold.phone_hash})
    return hold


def place_hold_for_request(
    *,
    request: RightsRequest,
    user,
    kind: str,
    reason: str,
    reference: str,
    ends_on: dt.date | None = None,
) -> LegalHold:
    """Hold the subject of ``request`` (by the email and phone it was filed with)."""
    return place_hold(
        user=user,
        kind=kind,
        reason=reason,
        reference=reference,
        email=request.email,
        phone=request.phone,
        ends_on=ends_on,
    )


def lift_hold(*, hold: LegalHold, user, reason: str) -> LegalHold:
    """End a hold now, with a reason. Raises ``PermissionDenied`` unless ``user`` has the
    legal role, ``LegalInputError`` without a reason or if the hold was already lifted."""
    require(user, "hold")
    if not reason.strip():
        raise LegalInputError.on("reason", "Say why the hold is lifted.")
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.lifted_at is not None:
            raise LegalInputError.on("hold", "This hold has already been lifted.")
        locked.lifted_at = timezone.now()
        locked.lifted_by = user
        locked.lift_reason = reason.strip()
        locked.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        record_event(
            action="legal.hold_lifted", actor=Actor.staff(user), payload={"hold_id": str(hold.pk)}
        )
        engine.recheck_open_requests(hashes={locked.email_hash, locked.phone_hash})
    for attr in ("lifted_at", "lifted_by", "lift_reason"):
        setattr(hold, attr, getattr(locked, attr))
    return hold
