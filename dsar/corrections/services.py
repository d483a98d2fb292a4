"""Staff decisions on a correction request, field by field (SPEC §2 ``correction``).

Each proposed change is accepted (as proposed or with an edited value, mapped to a field the
downstream systems know) or refused with a reason. Accepted changes go out as the ``correct``
action to the systems that hold the field; the subject is told what changed and what did not.
A change of the email or phone itself never becomes a channel for this request: codes and
notices keep going to the verified address, and that old address is told of the change.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.corrections.models import Correction
from dsar.verification import notices
from dsar.workflow import identity
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError

CONTACT_FIELDS = {"email", "phone"}


def decide(
    *, correction: Correction, user, accept: bool, target_field: str = "", value: str = "",
    reason: str = "",
) -> Correction:  # fmt: skip
    """Record one decision; the request must be a correction request in review."""
    permissions.require(user, "approve")
    request = correction.request
    if request.type != RequestType.CORRECTION or request.status != Status.IN_REVIEW:
        raise TransitionError("Corrections are decided while the request is in review.")
    errors = {}
    if accept and not target_field.strip():
        errors["target_field"] = ["Name the field the systems should change."]
    if not accept and not reason.strip():
        errors["reason"] = ["Say why; the subject is told."]
    target_field = target_field.strip().lower() if accept else ""
    final_value = (value.strip() or correction.proposed_value) if accept else ""
    if target_field in CONTACT_FIELDS:
        # A new address goes downstream as a key: one normalised address, or nothing.
        normalise = {"email": identity.normalise_email, "phone": identity.normalise_phone}
        try:
            final_value = normalise[target_field](final_value)
        except identity.InvalidIdentity as exc:
            errors["value"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        correction.decision = "accepted" if accept else "refused"
        correction.target_field = target_field
        correction.final_value = final_value
        correction.reason = reason.strip()
        correction.decided_by, correction.decided_at = user, timezone.now()
        correction.save()
        record_event(
            action=f"correction.{correction.decision}",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"position": correction.position, "field": correction.target_field},
        )
        if accept and correction.target_field in CONTACT_FIELDS:
            # The old, verified channel hears of it; the new value never verifies anything.
            notices.notify(request, "contact_changing", field=correction.target_field)
    return correction


def accepted_changes(request: RightsRequest) -> list[dict]:
    return [
        {"field": c.target_field, "value": c.final_value}
        for c in Correction.objects.filter(request=request, decision="accepted")
    ]


def require_all_decided(request: RightsRequest) -> None:
    """Guard before processing: every proposed change needs a decision."""
    if Correction.objects.filter(request=request, decision="").exists():
        raise TransitionError(
            "Decide every proposed correction (accept or refuse) before approving.",
            current=request.status,
        )


def settle(*, request: RightsRequest, fields_changed: set[str]) -> bool:
    """At completion: mark each accepted change applied when a system that changed
    ``fields_changed`` holds its field. Returns True when every proposed change was made (the
    outcome is ``full``); a refusal or a change no system holds makes it ``partial``."""
    items = list(Correction.objects.filter(request=request))
    not_applied = []
    for item in items:
        if item.decision == "accepted":
            item.applied = item.target_field in fields_changed
            item.save(update_fields=["applied"])
            if not item.applied:
                not_applied.append(item.position)
    refused = [c.position for c in items if c.decision == "refused"]
    record_event(
        action="correction.settled",
        actor=Actor.system("corrections"),
        request_id=request.pk,
        payload={"refused": refused, "not_held": not_applied},
    )
    return not refused and not not_applied


def tell_subject(request: RightsRequest) -> None:
    """After completion: what was changed, and what was not and why (refused by staff, or
    held by none of our systems)."""
    items = list(Correction.objects.filter(request=request))
    accepted = [c for c in items if c.decision == "accepted"]
    notices.notify(
        request,
        "correction_done",
        changed=[c for c in accepted if c.applied is not False],
        refused=[c for c in items if c.decision == "refused"],
        not_held=[c for c in accepted if c.applied is False],
    )


def anonymise(request, *, now) -> None:
    """Record retention: the proposed changes and their values go."""
    request.corrections.all().delete()
