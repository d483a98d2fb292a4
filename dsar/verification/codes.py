"""Codes: issuing a code and its one-click link to the request's own channel, checking a code,
and completing a verification (the request moves to ``in_review``).

Codes and link secrets are random, stored as keyed hashes, compared in constant time, valid
``DSAR_VERIFY_CODE_TTL_MINUTES`` and locked after ``DSAR_VERIFY_MAX_TRIES`` wrong tries; a new
challenge supersedes every earlier one of its kind.
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
from dsar.verification import notices
from dsar.verification.channels import channel_for
from dsar.verification.evidence import purge_pending
from dsar.verification.models import Challenge, Channel, Method, Strength, Verification
from dsar.verification.selectors import VERIFICATIONS, current_challenge
from dsar.workflow import facts, transitions
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


class VerificationFailed(Exception):
    """A code or link that does not verify; ``reason`` is wrong, expired, locked or missing."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def code_hash(challenge_id: uuid.UUID, code: str) -> str:
    """The stored form of a challenge's code: a keyed hash bound to the challenge."""
    return keyed_hash(f"verification-code:{challenge_id}:{code}")


def link_hash(challenge_id: uuid.UUID, secret: str) -> str:
    """The stored form of a challenge's link secret: a keyed hash bound to the challenge."""
    return keyed_hash(f"verification-link:{challenge_id}:{secret}")


def require_pending(request: RightsRequest) -> None:
    """Raise ``TransitionError`` unless ``request`` still waits for verification."""
    if request.status != Status.PENDING_VERIFICATION:
        raise TransitionError(
            _("Request %(reference)s is no longer waiting for identity verification.")
            % {"reference": request.reference},
            current=request.status,
        )


def issue_challenge(*, request: RightsRequest, new_request: bool = False) -> Challenge:
    """Send a fresh code and link to the request's own channel; earlier ones stop working.

    ``new_request``: the request was created in the caller's transaction (intake), so no
    other transaction can see it yet and it has no earlier challenge: nothing to lock or
    supersede."""
    require_pending(request)
    channel, secret = channel_for(request), secrets.token_urlsafe(32)
    with transaction.atomic(savepoint=False):  # nobody goes on after a failure here
        challenge, code = new_challenge(
            request, channel.name, link_secret=secret, new_request=new_request
        )
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


def new_challenge(
    request: RightsRequest,
    channel: str,
    *,
    link_secret: str = "",
    read_back: bool = False,
    new_request: bool = False,
) -> tuple[Challenge, str]:
    """Supersede the open challenges of the same kind and store a new one; returns it and its
    code. Call inside a transaction; ``new_request`` as for ``issue_challenge``."""
    now = timezone.now()
    challenge_id = uuid.uuid4()
    code = f"{secrets.randbelow(10**6):06d}"
    if not new_request:
        # Lock the request before the audit chain head, the order transition() takes them
        # in. The new challenge's foreign key is checked at commit, under a share lock on the
        # request: without this lock a concurrent transition of the same request (holding
        # the request, waiting for the chain head we hold) deadlocks with us. A request made
        # in this transaction is ours alone until commit.
        require_pending(RightsRequest.objects.select_for_update().get(pk=request.pk))
        Challenge.objects.filter(
            request=request, used_at__isnull=True, superseded_at__isnull=True, read_back=read_back
        ).update(superseded_at=now)
    challenge = Challenge.objects.create(
        id=challenge_id,
        request=request,
        channel=channel,
        code_hash=code_hash(challenge_id, code),
        link_hash=link_hash(challenge_id, link_secret) if link_secret else "",
        read_back=read_back,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=settings.DSAR_VERIFY_CODE_TTL_MINUTES),
    )
    return challenge, code


def normalise_code(code: str) -> str:
    """A typed code as compared: NFKC-folded (full-width digits), without spaces."""
    return "".join(unicodedata.normalize("NFKC", code or "").split())


def check_code(challenge: Challenge | None, code: str, now) -> VerificationFailed | None:
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
    if not hmac.compare_digest(code_hash(challenge.pk, code), challenge.code_hash):
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


def record_failure(
    request: RightsRequest, failure: VerificationFailed, method: str, actor: Actor | None = None
) -> None:
    """Audit a failed try (the reason only, never what was typed)."""
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
    code, now = normalise_code(code), timezone.now()
    with transaction.atomic():
        locked = transitions.lock(request)  # the transition below reuses this lock
        require_pending(locked)
        challenge = current_challenge(locked, for_update=True)
        failure = check_code(challenge, code, now)
        if failure is None:
            return complete(locked, challenge, Method.CODE, now)
        record_failure(locked, failure, Method.CODE)
    raise failure


def complete(
    request: RightsRequest, challenge: Challenge, method: str, now, reviewer=None, reason=""
) -> Verification:
    """Use up ``challenge``, record the verification of the address it went to, move the
    request to ``in_review`` and tell the subject. Call inside a transaction."""
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
    with facts.once(request):
        # A request waiting for verification has no earlier one: the checks that run on
        # entering review need not read it back.
        facts.known(request, VERIFICATIONS, [verification])
        transition(request, to=Status.IN_REVIEW, actor=actor, reason=reason, payload=payload)
    purge_pending(request=request)
    notices.notify(request, "verified")
    return verification
