"""The subject's writes: filing a request, withdrawing it, replying to staff.

Every function validates first, then writes in one transaction with its audit events and
emails (a plain filing: the request and its event in one statement). Filing answers the same
way whether or not the subject is known anywhere.
"""

import contextlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.audit.services import Actor, appended_together, record_event
from dsar.corrections.models import Correction
from dsar.crypto.keys import fernet
from dsar.legal import relatives, representation
from dsar.legal.relatives import RelativeClaim
from dsar.notifications.services import stored_together
from dsar.portal.models import SubjectReply
from dsar.sla import policies
from dsar.verification import limits, notices, receipts
from dsar.verification.evidence import checked_upload, purge_pending
from dsar.verification.services import (
    address_may_hear_of,
    claim_intake_message,
    claim_message,
    held_back,
)
from dsar.verification.sms import normalise_cn_mobile
from dsar.workflow import identity
from dsar.workflow.models import (
    ANSWERED_TYPES,
    ConsentPurpose,
    RequestType,
    RightsRequest,
    Status,
)
from dsar.workflow.services import create_request
from dsar.workflow.transitions import TransitionError, transition

# Field limits shared by the web form and the API serializers.
MAX_LENGTHS = {
    "email": 254,
    "phone": 32,
    "full_name": 200,
    "account_id": 200,
    "description": 5000,
    "message": 5000,
}
MAX_CORRECTIONS = 20
# The text fields of a relative's claim, named alike on the form and in the API.
RELATIVE_FIELDS = (
    "relationship", "lawful_interest", "deceased_name", "deceased_email", "deceased_phone",
    "deceased_account_id",
)  # fmt: skip
CORRECTION_LENGTHS = {"field": 100, "current_value": 1000, "proposed_value": 1000}


class FiledAs:
    """Who files: the subject (the default), an authorised agent, or a deceased subject's
    close relative (``dsar.legal.representation``, ``dsar.legal.relatives``)."""

    SELF, AGENT, RELATIVE = "self", "agent", "relative"
    CHOICES = (SELF, AGENT, RELATIVE)


@dataclass(frozen=True)
class AgentClaim:
    name: str = ""
    authority: str = ""
    permission: object = None  # an optional upload: the signed permission


@dataclass(frozen=True)
class ProposedCorrection:
    field: str
    proposed_value: str
    current_value: str = ""


def normalise_contact(*, email: str, phone: str) -> tuple[str, str]:
    """The normalised email and +86 mobile; ``ValidationError`` with field messages if not.

    The web form and the API serializer both call this, so they accept and refuse the same
    values (``dsar.workflow.identity`` says which) and pass on the same normalised ones.
    """
    errors = {}
    if not (email or phone):
        errors["email"] = [_("Give an email address or a mobile number.")]
    try:
        email = identity.normalise_email(email) if email else ""
    except identity.InvalidIdentity as exc:
        errors["email"] = [str(exc)]
    try:
        phone = normalise_cn_mobile(phone) if phone else ""
    except identity.InvalidIdentity as exc:
        errors["phone"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return email, phone


def clean_purposes(type: str, purposes) -> list[str]:
    """A consent withdrawal names at least one purpose (``ConsentPurpose``), each once, in the
    list's order; no other request type names any."""
    purposes = list(dict.fromkeys(purposes or ()))
    if type != RequestType.CONSENT_WITHDRAWAL:
        if purposes:
            raise ValidationError({"purposes": [_("Only a consent withdrawal names purposes.")]})
        return []
    if not purposes:
        raise ValidationError({"purposes": [_("Choose what you withdraw your consent for.")]})
    unknown = [p for p in purposes if p not in ConsentPurpose.values]
    if unknown:
        raise ValidationError({"purposes": [_("Choose the purposes from the list.")]})
    return [p for p in ConsentPurpose.values if p in purposes]


def intake_limit(*, ip: str) -> limits.Limit:
    # Only the sender's address is limited here: a limit on the subject's address would let
    # anyone lock the subject out by filing for them. Messages to the address are limited
    # instead (``claim_message``).
    return limits.Limit("intake-ip", ip or "unknown", settings.DSAR_INTAKE_RATE_IP)


def file_request(
    *,
    type: str,
    email: str = "",
    phone: str = "",
    full_name: str = "",
    account_id: str = "",
    description: str = "",
    corrections: list[ProposedCorrection] | tuple = (),
    language: str = "zh-hans",
    jurisdiction: str = "",
    purposes: list[str] | tuple = (),
    ip: str = "",
    filed_as: str = FiledAs.SELF,
    agent: AgentClaim | None = None,
    relative: RelativeClaim | None = None,
) -> RightsRequest:
    """File a request for the subject; their receipt and verification code follow from the
    messages worker once the answer is out (``dsar.verification.receipts``).

    ``filed_as`` says who files. An agent (``agent``) gives the subject's contact: the code
    goes to the subject, who is asked to confirm the agent. A deceased subject's relative
    (``relative``) gives their own contact, name and documents: the code and every notice
    go to the relative, and the request waits for legal review after verification.

    Raises ``ValidationError`` (field messages) or ``RateLimited`` (too many requests from
    ``ip``) before writing anything. The code goes to the email address when one is given,
    else by SMS to the mobile number. When the address has had its share of messages for
    now, the request is filed all the same and nothing is sent: the answer is the same, and
    the subject confirms with the link of a recent message to the address or asks for a code
    later (``dsar.verification.services.claim_message``). The request returned says which in
    ``code_sent``.
    """
    if type not in RequestType.values:
        raise ValidationError({"type": [_("Choose one of the request types.")]})
    email, phone = normalise_contact(email=email, phone=phone)
    # Where the subject lives fixes the response policy (the platform's default if not said).
    jurisdiction = policies.clean_jurisdiction(jurisdiction)
    if type == RequestType.CORRECTION and not corrections:
        raise ValidationError({"corrections": [_("Say what should be corrected.")]})
    if type != RequestType.CORRECTION and corrections:
        raise ValidationError({"corrections": [_("Only correction requests list corrections.")]})
    purposes = clean_purposes(type, purposes)
    if type in ANSWERED_TYPES and not description.strip():
        raise ValidationError({"description": [_("Write your question or complaint.")]})
    on_behalf = _check_on_behalf(
        type=type,
        filed_as=filed_as,
        agent=agent,
        relative=relative,
        full_name=full_name,
        account_id=account_id,
    )
    # The sender's intake limit (RateLimited), then the address's allowance, which decides
    # whether the request gets a receipt and code; the messages worker sends them once the
    # answer is out (``dsar.verification.receipts``).
    code_sent = claim_intake_message(email=email, phone=phone, consuming=(intake_limit(ip=ip),))
    # Only the request and its event when the subject files with a message due and nothing
    # to add: one statement, committed on its own (``create_request``). Otherwise one
    # transaction, with one INSERT for the audit events and one for the messages (an agent's
    # notice).
    alone = filed_as == FiledAs.SELF and not corrections and code_sent
    with _intake_writes(alone=alone):
        request = create_request(
            type=type,
            email=email,
            phone=phone,
            full_name=full_name,
            account_id=account_id,
            description=description,
            language=language,
            jurisdiction=jurisdiction,
            response_policy=policies.terms_at_intake(type=type, jurisdiction=jurisdiction),
            purposes=purposes,
            receipt_pending=code_sent,
        )
        if corrections:  # bulk_create opens a transaction even for none
            Correction.objects.bulk_create(
                Correction(
                    request=request,
                    position=position,
                    field=item.field.strip(),
                    current_value=item.current_value.strip(),
                    proposed_value=item.proposed_value.strip(),
                )
                for position, item in enumerate(corrections, start=1)
            )
        # Said on the instance (as an annotation would be), so the answer need not ask again.
        request.code_sent = code_sent
        if code_sent:
            receipts.publish_after_commit(request)
        else:
            held_back(request)
        if filed_as == FiledAs.AGENT:
            name, authority, permission = on_behalf
            representation.agent_from_form(
                request=request,
                name=name,
                authority=authority,
                permission=permission,
                notify=code_sent,
            )
        elif filed_as == FiledAs.RELATIVE:
            relatives.record_relative(request=request, checked=on_behalf)
    return request


@contextlib.contextmanager
def _intake_writes(*, alone: bool):
    """The block an intake writes in: none when the request is written alone, else a
    transaction gathering the audit events and the messages."""
    if alone:
        yield
        return
    with transaction.atomic(), appended_together(), stored_together():
        yield


def _check_on_behalf(*, type, filed_as, agent, relative, full_name, account_id):
    """What an agent or a relative adds to the form, checked before anything is written:
    ``(name, authority, permission)`` for an agent, the checked claim for a relative, None
    for the subject themselves. ``ValidationError`` with field messages otherwise."""
    if filed_as not in FiledAs.CHOICES:
        raise ValidationError(
            {"filed_as": [_("Say whether you ask for yourself, as an agent or as a relative.")]}
        )
    if filed_as == FiledAs.SELF:
        if agent is not None or relative is not None:
            raise ValidationError(
                {"filed_as": [_("Say who you ask for: as an agent or as a relative.")]}
            )
        return None
    if filed_as == FiledAs.AGENT:
        if type == RequestType.MARKETING_OPT_OUT:
            message = _(
                "Anyone may stop promotional messages to their own address; an agent files "
                "other requests."
            )
            raise ValidationError({"filed_as": [message]})
        agent = agent or AgentClaim()
        errors = {}
        try:
            name, authority = representation.check_agent(name=agent.name, authority=agent.authority)
        except ValidationError as exc:
            errors |= {f"agent_{field}": messages for field, messages in exc.message_dict.items()}
        permission = relatives.upload_errors(
            errors, "agent_permission", agent.permission, required=False
        )
        if errors:
            raise ValidationError(errors)
        return name, authority, permission
    errors = {}
    if not full_name.strip():
        errors["full_name"] = [_("Give your own name: legal reviews who asks.")]
    if account_id.strip():
        errors["account_id"] = [_("Give the deceased's account below, with their other details.")]
    try:
        checked = relatives.check_claim(type=type, claim=relative or RelativeClaim())
    except ValidationError as exc:
        errors |= exc.message_dict
    if errors:
        raise ValidationError(errors)
    return checked


def resend_status_link(*, reference: str, contact: str, ip: str = "") -> None:
    """Send the status link of the request ``reference`` to its own address again, when
    ``contact`` is that address (the email it was filed with, or the mobile of a phone-only
    request). Answers the same way, and writes nothing the caller can see, whether or not
    they match: raises only ``ValidationError`` for empty fields and ``RateLimited`` past
    ``DSAR_LOOKUP_RATE_IP``. The address's message allowance is spent as for any resend."""
    reference, contact = (reference or "").strip().upper(), (contact or "").strip()
    errors = {}
    if not reference:
        errors["reference"] = [_("Enter the reference of your request, e.g. DSAR-2026-000123.")]
    if not contact:
        errors["contact"] = [_("Enter the email address or mobile number you gave us.")]
    if errors:
        raise ValidationError(errors)
    limits.consume(limits.Limit("lookup-ip", ip or "unknown", settings.DSAR_LOOKUP_RATE_IP))
    request = RightsRequest.objects.filter(reference=reference).first()
    if request is None or not _is_its_address(request, contact):
        return
    with transaction.atomic():
        # Rows pointing at the request (audit event, outbox) are written under its lock.
        request = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if address_may_hear_of(request) and claim_message(request=request):
            record_event(action="status.link_resent", actor=Actor.subject(), request_id=request.pk)
            notices.notify(request, "status_link")


def _is_its_address(request: RightsRequest, contact: str) -> bool:
    """Whether ``contact`` is the address the request's messages go to."""
    try:
        if request.email:
            return identity.email_hash(identity.normalise_email(contact)) == request.email_hash
        return identity.phone_hash(normalise_cn_mobile(contact)) == request.phone_hash
    except identity.InvalidIdentity:
        return False


def withdraw_request(*, request: RightsRequest) -> RightsRequest:
    """Withdraw the request for the subject; raises ``TransitionError`` once it is closed."""
    with transaction.atomic():
        transition(request, to=Status.WITHDRAWN, actor=Actor.subject())
        purge_pending(request=request)
        if address_may_hear_of(request):
            notices.notify(request, "withdrawn")
    return request


def reply_to_request(*, request: RightsRequest, message: str, upload=None) -> SubjectReply:
    """Store the subject's answer, with a file if one came (``upload``, a Django
    ``UploadedFile``), and resume review (the SLA clock runs again).

    Raises ``TransitionError`` unless the request is waiting for the subject,
    ``ValidationError`` for an empty reply or a file that is not an image or PDF, and
    ``EvidenceTooLarge`` for a file over the limit; nothing is written on any error.
    """
    message = (message or "").strip()
    if not message and upload is None:
        raise ValidationError({"message": [_("Write your reply.")]})
    data, content_type = checked_upload(upload) if upload is not None else (b"", "")
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != Status.AWAITING_SUBJECT:
            raise TransitionError(
                _("Request %(reference)s is not waiting for your reply.")
                % {"reference": locked.reference},
                current=locked.status,
            )
        reply = SubjectReply.objects.create(
            request=locked,
            body=message,
            attachment=fernet().encrypt(data) if data else b"",
            attachment_type=content_type,
            created_at=timezone.now(),
        )
        record_event(
            action="subject.replied",
            actor=Actor.subject(),
            request_id=locked.pk,
            payload={"reply_id": str(reply.pk), "attachment_type": content_type},
        )
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    return reply


def reply_attachment(reply: SubjectReply) -> bytes:
    """The decrypted file sent with a reply, for staff; empty when none came."""
    raw = bytes(reply.attachment or b"")
    return fernet().decrypt(raw) if raw else b""


def anonymise(request, *, now) -> None:
    """Record retention: the subject's replies go."""
    request.subject_replies.all().delete()
