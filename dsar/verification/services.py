"""Proving identity: issuing codes and links, checking them, staff review, expiry.

A request leaves ``pending_verification`` only through this module (or withdrawal), and always
through ``transition()``. Codes and link secrets are random, stored as keyed hashes, compared
in constant time, valid ``DSAR_VERIFY_CODE_TTL_MINUTES`` and locked after
``DSAR_VERIFY_MAX_TRIES`` wrong tries; a resend supersedes every earlier challenge of its kind.
Staff verify only on recorded evidence: a document they reviewed, or a code they sent to an
address the subject gave and the subject read back to them. A reason alone verifies nothing.
"""

import datetime as dt
import hmac
import secrets
import unicodedata
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.crypto.keys import keyed_hash
from dsar.notifications.links import emailed_link
from dsar.verification import limits, notices
from dsar.verification.channels import channel_for, channel_named
from dsar.verification.evidence import purge_pending, take_for_decision
from dsar.verification.models import Challenge, Channel, Method, Strength, Verification
from dsar.verification.selectors import current_challenge
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


class VerificationFailed(Exception):
    """A code or link that does not verify; ``reason`` is wrong, expired, locked or missing."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def _code_hash(challenge_id: uuid.UUID, code: str) -> str:
    return keyed_hash(f"verification-code:{challenge_id}:{code}")


def _link_hash(challenge_id: uuid.UUID, secret: str) -> str:
    return keyed_hash(f"verification-link:{challenge_id}:{secret}")


def _require_pending(request: RightsRequest) -> None:
    if request.status != Status.PENDING_VERIFICATION:
        raise TransitionError(
            _("Request %(reference)s is no longer waiting for identity verification.")
            % {"reference": request.reference},
            current=request.status,
        )


def issue_challenge(*, request: RightsRequest) -> Challenge:
    """Send a fresh code and link to the request's own channel; earlier ones stop working."""
    _require_pending(request)
    channel, secret = channel_for(request), secrets.token_urlsafe(32)
    with transaction.atomic(savepoint=False):  # nobody goes on after a failure here
        challenge, code = _new_challenge(request, channel.name, link_secret=secret)
        path = reverse("portal:confirm", kwargs={"pk": request.pk, "challenge": challenge.pk})
        channel.send_code(
            request=request,
            context={
                "reference": request.reference,
                "code": code,
                "link": emailed_link(path, k=secret),
                "ttl": settings.DSAR_VERIFY_CODE_TTL_MINUTES,
            },
        )
        record_event(
            action="verification.sent",
            actor=Actor.system("verification"),
            request_id=request.pk,
            payload={"channel": channel.name, "challenge_id": str(challenge.pk)},
        )
    return challenge


def _new_challenge(
    request: RightsRequest, channel: str, *, link_secret: str = "", read_back: bool = False
) -> tuple[Challenge, str]:
    """Supersede the open challenges of the same kind and store a new one; returns it and its
    code. Call inside a transaction."""
    now = timezone.now()
    challenge_id = uuid.uuid4()
    code = f"{secrets.randbelow(10**6):06d}"
    # Lock the request before the audit chain head, the order transition() takes them in.
    # The new challenge's foreign key is checked at commit, under a share lock on the
    # request: without this lock a concurrent transition of the same request (holding the
    # request, waiting for the chain head we hold) deadlocks with us.
    _require_pending(RightsRequest.objects.select_for_update().get(pk=request.pk))
    Challenge.objects.filter(
        request=request, used_at__isnull=True, superseded_at__isnull=True, read_back=read_back
    ).update(superseded_at=now)
    challenge = Challenge.objects.create(
        id=challenge_id,
        request=request,
        channel=channel,
        code_hash=_code_hash(challenge_id, code),
        link_hash=_link_hash(challenge_id, link_secret) if link_secret else "",
        read_back=read_back,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=settings.DSAR_VERIFY_CODE_TTL_MINUTES),
    )
    return challenge, code


def _address(request: RightsRequest) -> tuple[str, str]:
    """The channel a request's messages go through and the keyed hash of its address there."""
    if request.email:
        return Channel.EMAIL, request.email_hash
    return Channel.PHONE, request.phone_hash


def message_limit(request: RightsRequest) -> limits.Limit:
    """How many verification messages the request's address may receive per window.

    Shared by every request for that address, whoever filed it: it bounds flooding an
    address, and it is the only limit tied to an address, so strangers filing requests for
    it spend messages, never the subject's right to file (``claim_message``).
    """
    _, address_hash = _address(request)
    return limits.Limit("messages-address", address_hash, settings.DSAR_CODE_RATE_ADDRESS)


def claim_message(*, request: RightsRequest) -> bool:
    """Spend one message of the request's address allowance; False if none is left.

    A request that gets no message stays filed and waiting: the subject confirms it with the
    link of any other message we recently sent to the address (``verify_link``), or asks for
    a code once the allowance reopens. The audit trail says why nothing was sent.
    """
    if limits.take(message_limit(request)):
        return True
    record_event(
        action="verification.held_back",
        actor=Actor.system("verification"),
        request_id=request.pk,
        payload={"reason": "address_message_limit"},
    )
    return False


def address_may_hear_of(request: RightsRequest) -> bool:
    """Whether later notices of ``request`` (withdrawn, expired) may go to its address.

    Not for a request that was held back by the address limit and never proven: the address
    heard nothing of it, and strangers filing and withdrawing requests must not be able to
    mail it without limit through the notices the limit does not count.
    """
    return request.verified_at is not None or Challenge.objects.filter(request=request).exists()


def resend_limits(request: RightsRequest, ip: str) -> tuple[limits.Limit, ...]:
    return (
        limits.Limit("resend-request", str(request.pk), settings.DSAR_RESEND_RATE_REQUEST),
        message_limit(request),
        limits.Limit("resend-ip", ip or "unknown", settings.DSAR_RESEND_RATE_IP),
    )


def resend_code(*, request: RightsRequest, ip: str) -> None:
    """Issue a new code, within the per-request, per-address and per-IP limits.

    Raises ``RateLimited`` (nothing sent) or ``TransitionError`` if the request is no longer
    waiting for verification. The code goes to the address stored at intake, nowhere else.
    """
    _require_pending(request)
    limits.consume(*resend_limits(request, ip))
    issue_challenge(request=request)


def _normalise_code(code: str) -> str:
    return "".join(unicodedata.normalize("NFKC", code or "").split())


def _check_code(challenge: Challenge | None, code: str, now) -> VerificationFailed | None:
    """The reason ``code`` fails against ``challenge``, counting a wrong try; None if it fits."""
    if challenge is None:
        return VerificationFailed(
            _("There is no active code. Ask for a new one."), reason="missing"
        )
    if challenge.tries >= settings.DSAR_VERIFY_MAX_TRIES:
        return VerificationFailed(
            _("Too many wrong tries for this code. Ask for a new one."), reason="locked"
        )
    if now >= challenge.expires_at:
        return VerificationFailed(_("This code has expired. Ask for a new one."), reason="expired")
    if not hmac.compare_digest(_code_hash(challenge.pk, code), challenge.code_hash):
        challenge.tries += 1
        challenge.save(update_fields=["tries"])
        if challenge.tries >= settings.DSAR_VERIFY_MAX_TRIES:
            return VerificationFailed(
                _("That code is not right, and this was the last try. Ask for a new code."),
                reason="locked",
            )
        return VerificationFailed(
            _("That code is not right. Check it and try again."), reason="wrong"
        )
    return None


def _record_failure(
    request: RightsRequest, failure: VerificationFailed, method: str, actor: Actor | None = None
) -> None:
    record_event(
        action="verification.failed",
        actor=actor or Actor.subject(),
        request_id=request.pk,
        payload={"method": method, "reason": failure.reason},
    )


def verify_code(*, request: RightsRequest, code: str) -> Verification:
    """Verify the subject with the code sent to them; the request moves to ``in_review``.

    A wrong try is counted (and committed) before ``VerificationFailed`` is raised.
    """
    code, now = _normalise_code(code), timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(locked)
        challenge = current_challenge(locked, for_update=True)
        failure = _check_code(challenge, code, now)
        if failure is None:
            return _complete(request, challenge, Method.CODE, now)
        _record_failure(locked, failure, Method.CODE)
    raise failure


def _live_link(challenge_id: uuid.UUID, *, for_update: bool = False) -> Challenge | None:
    """The challenge ``challenge_id`` if it is unused and its request's current one.

    Its request may have been withdrawn or have expired since: the message still reached the
    address, so its link still proves the address for the other requests waiting there.
    """
    challenges = Challenge.objects.select_related("request").filter(
        pk=challenge_id, used_at__isnull=True, superseded_at__isnull=True
    )
    return (challenges.select_for_update(of=("self",)) if for_update else challenges).first()


def _link_fits(challenge: Challenge | None, request: RightsRequest) -> bool:
    """A link confirms the request it was sent for, or another waiting for the same address.

    Codes do not travel like this: six digits can be guessed, and a code shared between
    requests would either multiply an attacker's guesses or let them burn the subject's
    tries. A link's secret cannot be guessed, so proving the address with any recent link
    costs nothing in safety, and a subject whose own message was held back by the address
    limit (strangers filing for their address) can still confirm their request.
    """
    if challenge is None:
        return False
    if challenge.request_id == request.pk:
        return True
    return challenge.channel == _address(request)[0] and (
        _address(challenge.request) == _address(request)
    )


def requests_for_link(*, challenge_id: uuid.UUID, secret: str) -> list[RightsRequest]:
    """The waiting requests a one-click link may confirm, the one it was sent for first
    (if it still waits).

    Empty unless the link is current, unexpired and its secret right: only the holder of a
    message sent to the address learns which requests are waiting for it (at most 20, newest
    first after the link's own).
    """
    challenge = _live_link(challenge_id)
    if (
        challenge is None
        or timezone.now() >= challenge.expires_at
        or not hmac.compare_digest(_link_hash(challenge.pk, secret or ""), challenge.link_hash)
    ):
        return []
    channel, address_hash = _address(challenge.request)
    if channel == Channel.EMAIL:
        same = {"email_hash": address_hash}
    else:  # requests with an email address get their messages there, not by SMS
        same = {"email_hash": "", "phone_hash": address_hash}
    others = (
        RightsRequest.objects.filter(status=Status.PENDING_VERIFICATION, **same)
        .exclude(pk=challenge.request_id)
        .order_by("-received_at")[:20]
    )
    own = [challenge.request] if challenge.request.status == Status.PENDING_VERIFICATION else []
    return [*own, *[r for r in others if _link_fits(challenge, r)]]


def verify_link(*, request: RightsRequest, challenge_id: uuid.UUID, secret: str) -> Verification:
    """Verify ``request`` with a one-click link: its own current one, or the current link of
    any other request waiting for the same address (see ``_link_fits``). The link is used up
    either way; the request it was sent for stays waiting."""
    now = timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(locked)
        challenge = _live_link(challenge_id, for_update=True)
        if not _link_fits(challenge, locked):
            failure = VerificationFailed(
                _("This link has been replaced by a newer one or was already used."),
                reason="missing",
            )
        elif now >= challenge.expires_at:
            failure = VerificationFailed(
                _("This link has expired. Ask for a new code."), reason="expired"
            )
        elif not hmac.compare_digest(_link_hash(challenge.pk, secret or ""), challenge.link_hash):
            failure = VerificationFailed(_("This link is not valid."), reason="wrong")
        else:
            return _complete(request, challenge, Method.LINK, now)
        _record_failure(locked, failure, Method.LINK)
    raise failure


def _complete(
    request: RightsRequest, challenge: Challenge, method: str, now, reviewer=None, reason=""
) -> Verification:
    challenge.used_at = now
    challenge.save(update_fields=["used_at"])
    verification = Verification.objects.create(
        request=request,
        method=method,
        channel=challenge.channel,
        strength=Strength.CONTACT,
        identity_hash=request.email_hash
        if challenge.channel == Channel.EMAIL
        else request.phone_hash,
        reviewer=reviewer,
        created_at=now,
    )
    payload = {"method": method, "channel": challenge.channel}
    if reviewer is not None:
        payload["verification_id"] = str(verification.pk)
    actor = Actor.staff(reviewer) if reviewer is not None else Actor.subject()
    transition(request, to=Status.IN_REVIEW, actor=actor, reason=reason, payload=payload)
    purge_pending(request=request)
    notices.notify(request, "verified")
    return verification


def send_staff_code(*, request: RightsRequest, user, channel: str) -> Challenge:
    """Send a code to the subject's own email or phone, for them to read back to ``user``.

    The address is the one given at intake, never input: ``channel`` (``email`` or
    ``phone``) only chooses which of the two. The code is hashed, expires after
    ``DSAR_VERIFY_CODE_TTL_MINUTES``, is locked after ``DSAR_VERIFY_MAX_TRIES`` wrong
    entries, and supersedes earlier read-back codes only; sends per request are limited like
    the subject's resends. Raises ``PermissionDenied``, ``ValidationError`` (field
    ``channel``) for an address the subject did not give, ``RateLimited``, or
    ``TransitionError`` once the request is no longer waiting for verification.
    """

    require(user, "verify")
    target = channel_named(request, channel)
    if target is None:
        message = (
            _("The subject gave no email address; send the code by SMS to their phone.")
            if channel == Channel.EMAIL
            else _("The subject gave no mobile number; send the code to their email address.")
        )
        raise ValidationError({"channel": [message]})
    _require_pending(request)
    limits.consume(
        limits.Limit("staff-code-request", str(request.pk), settings.DSAR_RESEND_RATE_REQUEST)
    )
    with transaction.atomic():
        challenge, code = _new_challenge(request, target.name, read_back=True)
        target.send_code(
            request=request,
            context={
                "reference": request.reference,
                "code": code,
                "ttl": settings.DSAR_VERIFY_CODE_TTL_MINUTES,
            },
            template="staff_code",
        )
        record_event(
            action="verification.staff_code_sent",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"channel": target.name, "challenge_id": str(challenge.pk)},
        )
    return challenge


def verify_by_staff(
    *,
    request: RightsRequest,
    user,
    evidence_id: uuid.UUID | None = None,
    code: str = "",
    reason: str = "",
) -> Verification:
    """Record that ``user`` verified the subject on recorded evidence, and start the clock.

    The evidence is exactly one of: ``evidence_id``, an upload of this request awaiting
    review, which ``user`` accepts (strength ``staff_reviewed``); or ``code``, what the
    subject read back from a code sent with ``send_staff_code`` (strength ``contact``: it
    proves the address it went to, as the subject's own code would). ``reason`` is an
    optional note kept in the audit trail; alone it verifies nothing. ``user`` is recorded
    as the reviewer, who may then not approve (see ``dsar.staff.duties``). Every upload of the
    request is purged once verified. Raises ``PermissionDenied`` for a role that may not
    verify, ``TransitionError`` if the request is not waiting for verification, and
    ``django.core.exceptions.ValidationError`` for missing evidence, an evidence id that is
    not this request's pending upload, or a wrong, expired or locked code (a wrong try is
    counted and committed first).
    """

    require(user, "verify")
    code = _normalise_code(code)
    if evidence_id is None and not code:
        raise ValidationError(
            {
                "evidence_id": [
                    _(
                        "A reason alone is not evidence. Accept an identity document the "
                        "subject uploaded, once you have reviewed it."
                    )
                ],
                "code": [
                    _(
                        "Or send a code to the email or phone the subject gave and enter the "
                        "code they read back to you."
                    )
                ],
            }
        )
    if evidence_id is not None and code:
        raise ValidationError({"code": [_("Give either a document or a code, not both.")]})
    if code:
        return _verify_read_back(request=request, user=user, code=code, reason=reason)
    now = timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(locked)
        evidence = take_for_decision(request=locked, evidence_id=evidence_id, user=user)
        verification = Verification.objects.create(
            request=locked,
            method=Method.STAFF_EVIDENCE,
            channel=Channel.EVIDENCE,
            strength=Strength.STAFF_REVIEWED,
            reviewer=user,
            evidence=evidence,
            created_at=now,
        )
        payload = {
            "method": Method.STAFF_EVIDENCE,
            "verification_id": str(verification.pk),
            "evidence_id": str(evidence.pk),
        }
        transition(
            request, to=Status.IN_REVIEW, actor=Actor.staff(user), reason=reason, payload=payload
        )
        purge_pending(request=request)
        notices.notify(request, "verified")
    return verification


def _verify_read_back(*, request: RightsRequest, user, code: str, reason: str) -> Verification:
    now = timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(locked)
        challenge = current_challenge(locked, for_update=True, read_back=True)
        failure = _check_code(challenge, code, now)
        if failure is None:
            return _complete(request, challenge, Method.STAFF_CODE, now, user, reason)
        _record_failure(locked, failure, Method.STAFF_CODE, actor=Actor.staff(user))
    raise ValidationError({"code": [str(failure)]})


def expire_unverified(*, batch: int = 500) -> int:
    """Expire requests still unverified ``DSAR_VERIFY_EXPIRY_DAYS`` after intake; tell the
    subject. Safe to run twice or beside a verification: each move is one locked transition."""
    cutoff = timezone.now() - dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS)
    ids = list(
        RightsRequest.objects.filter(
            status=Status.PENDING_VERIFICATION, received_at__lt=cutoff
        ).values_list("pk", flat=True)[:batch]
    )
    expired = 0
    for pk in ids:
        with transaction.atomic():
            request = RightsRequest.objects.get(pk=pk)
            try:
                transition(request, to=Status.EXPIRED, actor=Actor.system("verification-expiry"))
            except TransitionError:  # verified or withdrawn meanwhile
                continue
            purge_pending(request=request)
            if address_may_hear_of(request):
                notices.notify(request, "expired")
            expired += 1
    return expired
