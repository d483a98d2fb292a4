"""Staff verification, only on recorded evidence: a document staff reviewed, or a code they
sent to an address the subject gave and the subject read back to them. A reason alone
verifies nothing.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.verification import limits, notices
from dsar.verification.channels import channel_named
from dsar.verification.codes import (
    check_code,
    complete,
    new_challenge,
    normalise_code,
    record_failure,
    require_pending,
)
from dsar.verification.evidence import purge_pending, take_for_decision
from dsar.verification.models import Challenge, Channel, Method, Strength, Verification
from dsar.verification.selectors import current_challenge
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import transition


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
    require_pending(request)
    limits.consume(
        limits.Limit("staff-code-request", str(request.pk), settings.DSAR_RESEND_RATE_REQUEST)
    )
    with transaction.atomic():
        challenge, code = new_challenge(request, target.name, read_back=True)
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
    code = normalise_code(code)
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
        require_pending(locked)
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
        require_pending(locked)
        challenge = current_challenge(locked, for_update=True, read_back=True)
        failure = check_code(challenge, code, now)
        if failure is None:
            return complete(request, challenge, Method.STAFF_CODE, now, user, reason)
        record_failure(locked, failure, Method.STAFF_CODE, actor=Actor.staff(user))
    raise ValidationError({"code": [str(failure)]})
