"""Proving identity: issuing codes and links, checking them, staff review, expiry.

A request leaves ``pending_verification`` only through this module (or withdrawal), and always
through ``transition()``. Codes and link secrets are random, stored as keyed hashes, compared
in constant time, valid ``DSAR_VERIFY_CODE_TTL_MINUTES`` and locked after
``DSAR_VERIFY_MAX_TRIES`` wrong tries; a resend supersedes every earlier challenge.
"""

import datetime as dt
import hmac
import secrets
import unicodedata
import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.audit.services import Actor, record_event
from dsar.crypto.keys import keyed_hash
from dsar.notifications.links import emailed_link
from dsar.verification import limits, notices
from dsar.verification.channels import channel_for
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
    now = timezone.now()
    challenge_id = uuid.uuid4()
    code = f"{secrets.randbelow(10**6):06d}"
    secret = secrets.token_urlsafe(32)
    channel = channel_for(request)
    with transaction.atomic(savepoint=False):  # nobody goes on after a failure here
        # Lock the request before the audit chain head, the order transition() takes them in.
        # The new challenge's foreign key is checked at commit, under a share lock on the
        # request: without this lock a concurrent transition of the same request (holding the
        # request, waiting for the chain head we hold) deadlocks with us.
        _require_pending(RightsRequest.objects.select_for_update().get(pk=request.pk))
        Challenge.objects.filter(
            request=request, used_at__isnull=True, superseded_at__isnull=True
        ).update(superseded_at=now)
        challenge = Challenge.objects.create(
            id=challenge_id,
            request=request,
            channel=channel.name,
            code_hash=_code_hash(challenge_id, code),
            link_hash=_link_hash(challenge_id, secret),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.DSAR_VERIFY_CODE_TTL_MINUTES),
        )
        path = reverse("portal:confirm", kwargs={"pk": request.pk, "challenge": challenge_id})
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
            payload={"channel": channel.name, "challenge_id": str(challenge_id)},
        )
    return challenge


def resend_limits(request: RightsRequest, ip: str) -> tuple[limits.Limit, ...]:
    return (
        limits.Limit("resend-request", str(request.pk), settings.DSAR_RESEND_RATE_REQUEST),
        limits.Limit(
            "resend-identity",
            request.email_hash or request.phone_hash,
            settings.DSAR_RESEND_RATE_IDENTITY,
        ),
        limits.Limit("resend-ip", ip or "unknown", settings.DSAR_RESEND_RATE_IP),
    )


def resend_code(*, request: RightsRequest, ip: str) -> None:
    """Issue a new code, within the per-request, per-identity and per-IP resend limits.

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


def _record_failure(request: RightsRequest, failure: VerificationFailed, method: str) -> None:
    record_event(
        action="verification.failed",
        actor=Actor.subject(),
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


def verify_link(*, request: RightsRequest, challenge_id: uuid.UUID, secret: str) -> Verification:
    """Verify the subject with the one-click link of the current challenge."""
    now = timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(locked)
        challenge = current_challenge(locked, for_update=True)
        if challenge is None or challenge.pk != challenge_id:
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


def _complete(request: RightsRequest, challenge: Challenge, method: str, now) -> Verification:
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
        created_at=now,
    )
    transition(
        request,
        to=Status.IN_REVIEW,
        actor=Actor.subject(),
        payload={"method": method, "channel": challenge.channel},
    )
    purge_pending(request=request)
    notices.notify(request, "verified")
    return verification


def verify_by_staff(
    *,
    request: RightsRequest,
    user,
    evidence_id: uuid.UUID | None = None,
    reason: str = "",
) -> Verification:
    """Record that ``user`` verified the subject by reviewing evidence, and start the clock.

    ``evidence_id`` names an upload of this request awaiting review; without one, ``reason``
    must say what the decision rests on (e.g. a documented call-back to the account's phone).
    Every upload of the request is purged once the decision is recorded. Raises
    ``PermissionDenied`` for a role that may not verify, ``TransitionError`` if the request is
    not waiting for verification, and ``django.core.exceptions.ValidationError`` for a missing
    reason or an evidence id that is not this request's pending upload.
    """
    from django.core.exceptions import ValidationError

    from dsar.staff.permissions import require

    require(user, "verify")
    if evidence_id is None and not reason.strip():
        raise ValidationError({"reason": [_("Say what the verification rests on.")]})
    now = timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _require_pending(locked)
        evidence = None
        if evidence_id is not None:
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
        payload = {"method": Method.STAFF_EVIDENCE, "verification_id": str(verification.pk)}
        if evidence is not None:
            payload["evidence_id"] = str(evidence.pk)
        transition(
            request, to=Status.IN_REVIEW, actor=Actor.staff(user), reason=reason, payload=payload
        )
        purge_pending(request=request)
        notices.notify(request, "verified")
    return verification


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
            notices.notify(request, "expired")
            expired += 1
    return expired
