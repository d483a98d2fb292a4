"""Writes to requests that are not status changes (those live in ``transitions``)."""

from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.workflow import identity
from dsar.workflow.models import RightsRequest
from dsar.workflow.references import next_reference


def create_request(
    *,
    type: str,
    email: str = "",
    phone: str = "",
    full_name: str = "",
    account_id: str = "",
    description: str = "",
    language: str = "zh-hans",
    jurisdiction: str = "",
    response_policy: dict | None = None,
    purposes: list[str] | tuple = (),
    actor: Actor | None = None,
) -> RightsRequest:
    """Record a new request in ``pending_verification`` with a fresh reference.

    ``received_at`` is the server's clock, never a caller's value. The email and phone are
    normalised before they are stored and hashed; an invalid one raises ``InvalidIdentity``
    before anything is written. ``response_policy`` is the policy's terms as the caller
    resolved them for ``jurisdiction`` (``dsar.sla.policies.terms_at_intake``).
    """
    if not (email or phone):
        raise identity.InvalidIdentity("Give an email address or a phone number.")
    email = identity.normalise_email(email) if email else ""
    phone = identity.normalise_phone(phone) if phone else ""
    now = timezone.now()
    with transaction.atomic(savepoint=False):  # nobody goes on after a failure here
        request = RightsRequest.objects.create(
            reference=next_reference(year=timezone.localtime(now).year),
            type=type,
            email=email,
            phone=phone,
            email_hash=identity.email_hash(email),
            phone_hash=identity.phone_hash(phone),
            full_name=full_name.strip(),
            account_id=account_id.strip(),
            description=description.strip(),
            language=language,
            jurisdiction=jurisdiction,
            response_policy=response_policy or {},
            purposes=list(purposes),
            received_at=now,
        )
        record_event(
            action="request.created",
            actor=actor or Actor.subject(),
            request_id=request.pk,
            to_status=request.status,
            payload={"reference": request.reference, "type": type}
            | ({"jurisdiction": jurisdiction} if jurisdiction else {}),
        )
    return request
