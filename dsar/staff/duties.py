"""Separation of duties: the staff member who verified a subject does not also approve.

Staff verification rests on evidence a person judges or relays (a document they reviewed, a
code the subject read back to them). For the requests that disclose or destroy data (access,
deletion, cancellation) a second person approves, so one agent alone, or one social engineer
who convinced them, cannot take a request from intake to fulfilment.

Corrections are exempt, as the verification check exempts them (SPEC §5.5): each change is
decided on its own and is the subject's own data. Except a correction that changes an email
address or phone number downstream: that change can hand the account to whoever asked (a
password reset goes to the new address), and the notice of it goes to the address the
requester gave, so it needs a second person like an erasure does.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from dsar.audit.services import Actor, record_event
from dsar.corrections.models import Correction
from dsar.corrections.services import CONTACT_FIELDS
from dsar.verification.selectors import staff_verifier_ids
from dsar.workflow.models import RequestType, RightsRequest

SEPARATED_TYPES = frozenset({RequestType.ACCESS, RequestType.DELETION, RequestType.CANCELLATION})


class SeparationOfDuties(PermissionDenied):
    """The user verified this request and may not approve it (HTTP 403)."""

    code = "separation_of_duties"


def _needs_second_person(request: RightsRequest) -> bool:
    if request.type in SEPARATED_TYPES:
        return True
    if request.type != RequestType.CORRECTION:
        return False

    return Correction.objects.filter(
        request=request, decision="accepted", target_field__in=CONTACT_FIELDS
    ).exists()


def verified_it(request: RightsRequest, user) -> bool:
    """Whether ``user`` verified ``request`` and so may not be the one to approve it."""

    return _needs_second_person(request) and user.pk in staff_verifier_ids(request)


def require_another_approver(request: RightsRequest, user) -> None:
    """Raise ``SeparationOfDuties`` (and audit the attempt) if ``user`` verified ``request``."""
    if not verified_it(request, user):
        return
    with transaction.atomic():
        record_event(
            action="approval.refused",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"rule": SeparationOfDuties.code},
        )
    raise SeparationOfDuties(
        _(
            "You verified this subject, so another staff member (an agent or a supervisor) "
            "must approve %(reference)s."
        )
        % {"reference": request.reference}
    )
