"""Requests staff file for a caller (hotline, email, letter, in person).

The same verification gate as a web request: a code goes only to an email or phone a
registered system holds for the account (``dsar.fanout.contacts``), never to one read out on
the call. Filing records the request unverified, with no contact of its own, and then:

- a claimed contact that a system holds (compared by keyed hash) gets the code: route ``code``;
- else, when systems hold other contacts, staff pick one, shown masked (``send_code``): route
  ``choose``;
- else nothing is sent: staff verify on identity evidence (``staff_review``): route
  ``evidence``.

The contact the code goes to becomes the request's own, so the receipt, the status link and
every later notice go there. The clock starts at verification, as for a web request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from dsar.access.permissions import require
from dsar.audit.services import Actor, appended_together, record_event
from dsar.fanout import contacts
from dsar.sla import policies
from dsar.staff.models import IntakeChannel, IntakeRoute, StaffIntake
from dsar.verification import notices
from dsar.verification.codes import require_pending
from dsar.verification.services import claim_message, issue_challenge
from dsar.verification.sms import normalise_cn_mobile
from dsar.workflow import identity
from dsar.workflow.models import RequestType, RightsRequest
from dsar.workflow.models import Status as RequestStatus
from dsar.workflow.services import create_request, set_contact

# Types a caller can file by voice; a correction lists its changes and a consent withdrawal
# its purposes on the portal's form.
FILABLE_TYPES = [
    t
    for t in RequestType.values
    if t not in (RequestType.CORRECTION, RequestType.CONSENT_WITHDRAWAL)
]
LENGTHS = {"account_id": 200, "email": 254, "phone": 32, "full_name": 200, "caller_said": 5000}


@dataclass(frozen=True)
class Filed:
    request: RightsRequest
    route: str
    sent_to: str = ""  # the masked contact the code went to
    choices: tuple[tuple[str, str], ...] = ()  # (keyed hash, masked contact) to pick from


def file_for_caller(
    *,
    user,
    type: str,
    channel: str,
    caller_said: str,
    account_id: str = "",
    email: str = "",
    phone: str = "",
    full_name: str = "",
    language: str = "zh-hans",
    jurisdiction: str = "",
) -> Filed:
    """File a request for the caller and send a code to a contact on file when one matches.

    Raises ``PermissionDenied`` for a role without ``file_request`` and ``ValidationError``
    (field messages) before anything is written or any system is asked."""
    require(user, "file_request")
    data = _cleaned(
        type=type, channel=channel, caller_said=caller_said, account_id=account_id,
        email=email, phone=phone, full_name=full_name, language=language,
    )  # fmt: skip
    jurisdiction = policies.clean_jurisdiction(jurisdiction)
    lookup = contacts.on_file(account_id=data["account_id"], email=data["email"],
                              phone=data["phone"])  # fmt: skip
    claimed = {h for h in (identity.email_hash(data["email"]), _phone_hash(data["phone"])) if h}
    match = next((c for c in lookup.contacts if c.digest in claimed), None)
    if match is not None:
        route = IntakeRoute.CODE
    else:
        route = IntakeRoute.CHOOSE if lookup.contacts else IntakeRoute.EVIDENCE
    with transaction.atomic(), appended_together():
        request = create_request(
            type=data["type"],
            full_name=data["full_name"],
            account_id=data["account_id"],
            description=data["caller_said"],
            language=data["language"],
            jurisdiction=jurisdiction,
            response_policy=policies.terms_at_intake(type=data["type"], jurisdiction=jurisdiction),
            actor=Actor.staff(user),
            contact_required=False,
        )
        StaffIntake.objects.create(
            request=request,
            channel=data["channel"],
            filed_by=user,
            claimed_email=data["email"],
            claimed_phone=data["phone"],
            route=route,
        )
        record_event(
            action="request.filed_by_staff",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={
                "channel": data["channel"],
                "route": route,
                "systems_asked": lookup.asked,
                "systems_unanswered": lookup.unanswered,
                "contacts_on_file": len(lookup.contacts),
            },
        )
        if match is not None:
            _send(request, match, user=user, new_request=True, chosen=False)
    if match is not None:
        return Filed(request, route, sent_to=match.masked)
    return Filed(request, route, choices=tuple((c.digest, c.masked) for c in lookup.contacts))


def on_file_choices(*, request: RightsRequest, user) -> tuple[tuple[str, str], ...]:
    """The contacts on file for a request staff filed, masked, to pick one from; a
    ``ValidationError`` for a request not filed by staff."""
    require(user, "file_request")
    if not StaffIntake.objects.filter(request=request).exists():
        raise ValidationError({"request": [_("This request was not filed by staff.")]})
    return tuple((c.digest, c.masked) for c in _lookup(request).contacts)


def send_code(*, request: RightsRequest, user, choice: str) -> str:
    """Send the code to the contact on file staff picked (``choice``: its keyed hash, as
    ``Filed.choices`` gives it); returns it masked. The systems are asked again, so only a
    contact they still hold is used; anything else is a ``ValidationError`` on ``choice``."""
    require(user, "file_request")
    intake = StaffIntake.objects.filter(request=request).first()
    if intake is None:
        raise ValidationError({"choice": [_("This request was not filed by staff.")]})
    require_pending(request)
    contact = next((c for c in _lookup(request).contacts if c.digest == choice), None)
    if contact is None:
        raise ValidationError({"choice": [_("Choose one of the contacts on file.")]})
    with transaction.atomic():
        request = RightsRequest.objects.select_for_update().get(pk=request.pk)
        require_pending(request)
        if request.email or request.phone:
            raise ValidationError({"choice": [_("A code was already sent to a contact on file.")]})
        _send(request, contact, user=user, new_request=False, chosen=True)
    return contact.masked


def _send(request, contact, *, user, new_request: bool, chosen: bool) -> None:
    if contact.kind == contacts.EMAIL:
        set_contact(request, email=contact.value)
    else:
        set_contact(request, phone=contact.value)
    record_event(
        action="verification.on_file_contact",
        actor=Actor.staff(user),
        request_id=request.pk,
        payload={"channel": contact.kind, "chosen_by_staff": chosen},
    )
    if claim_message(request=request):
        notices.notify(request, "receipt")
        issue_challenge(request=request, new_request=new_request)


def _lookup(request: RightsRequest) -> contacts.Lookup:
    intake = request.staff_intake
    return contacts.on_file(
        account_id=request.account_id, email=intake.claimed_email, phone=intake.claimed_phone
    )


def _phone_hash(phone: str) -> str:
    return identity.phone_hash(phone) if phone else ""


def _cleaned(**raw) -> dict:
    data = {k: (v or "").strip() for k, v in raw.items()}
    errors: dict[str, list[str]] = {}
    if data["type"] not in FILABLE_TYPES:
        errors["type"] = [_("Choose one of the request types.")]
    if data["channel"] not in IntakeChannel.values:
        errors["channel"] = [_("Choose how the request came in.")]
    if data["language"] not in ("zh-hans", "en"):
        errors["language"] = [_("Choose the caller's language.")]
    if not data["caller_said"]:
        errors["caller_said"] = [_("Write down what the caller asked for.")]
    if not (data["account_id"] or data["email"] or data["phone"]):
        errors["account_id"] = [_("Give the account id, email or mobile number the caller named.")]
    for name, limit in LENGTHS.items():
        if len(data[name]) > limit:
            errors[name] = [_("At most %(limit)d characters.") % {"limit": limit}]
    if data["email"] and "email" not in errors:
        try:
            data["email"] = identity.normalise_email(data["email"])
        except identity.InvalidIdentity as exc:
            errors["email"] = [str(exc)]
    if data["phone"] and "phone" not in errors:
        try:
            data["phone"] = normalise_cn_mobile(data["phone"])
        except identity.InvalidIdentity as exc:
            errors["phone"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return data


def progress(*, request: RightsRequest, user) -> dict:
    """Where a staff-filed request's verification stands, for its page: the channel, the
    route, the contact the code went to (masked) and, while staff must still pick one, the
    contacts on file (masked)."""
    require(user, "file_request")
    intake = StaffIntake.objects.filter(request=request).first()
    if intake is None:
        raise ValidationError(_("This request was not filed by staff."))
    sent_to = ""
    if request.phone:
        sent_to = contacts.mask(contacts.PHONE, request.phone)
    elif request.email:
        sent_to = contacts.mask(contacts.EMAIL, request.email)
    waiting = request.status == RequestStatus.PENDING_VERIFICATION
    choices = ()
    if waiting and not sent_to and intake.route == IntakeRoute.CHOOSE:
        choices = on_file_choices(request=request, user=user)
    return {"intake": intake, "sent_to": sent_to, "choices": choices, "waiting": waiting}
