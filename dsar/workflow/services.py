"""Writes to requests that are not status changes (those live in ``transitions``)."""

from django.utils import timezone

from dsar.audit.services import Actor, Event, insert_with_events
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
    contact_required: bool = True,
    receipt_pending: bool = False,
) -> RightsRequest:
    """Record a new request in ``pending_verification`` with a fresh reference.

    ``received_at`` is the server's clock, never a caller's value. The email and phone are
    normalised before they are stored and hashed; an invalid one raises ``InvalidIdentity``
    before anything is written. ``response_policy`` is the policy's terms as the caller
    resolved them for ``jurisdiction`` (``dsar.sla.policies.terms_at_intake``).
    ``contact_required=False``: a request staff file for a caller, whose contact is set later
    to one a system holds (``set_contact``), or never (verified on evidence).
    ``receipt_pending``: the receipt and first code are sent later, by the messages worker
    (``dsar.verification.receipts``).
    """
    if contact_required and not (email or phone):
        raise identity.InvalidIdentity("Give an email address or a phone number.")
    email = identity.normalise_email(email) if email else ""
    phone = identity.normalise_phone(phone) if phone else ""
    now = timezone.now()
    request = RightsRequest(
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
        receipt_pending=receipt_pending,
    )
    created = Event(
        action="request.created",
        actor=actor or Actor.subject(),
        request_id=request.pk,
        to_status=request.status,
        payload={"reference": request.reference, "type": type}
        | ({"jurisdiction": jurisdiction} if jurisdiction else {}),
    )
    # Outside a transaction (an intake that writes nothing else) the row and its event are
    # one statement; inside one, they join the caller's writes.
    insert_with_events(request, [created])
    return request


def set_contact(request: RightsRequest, *, email: str = "", phone: str = "") -> None:
    """Give a request filed without a contact the one its messages go to (normalised values
    only): a contact a downstream system holds for the account (``dsar.staff.hotline``)."""
    if request.email or request.phone:
        raise ValueError("The request already has a contact.")
    request.email, request.phone = email, phone
    request.email_hash, request.phone_hash = identity.email_hash(email), identity.phone_hash(phone)
    request.save(update_fields=["email", "phone", "email_hash", "phone_hash", "updated_at"])
