"""One-click links: which waiting requests a link may confirm, and confirming one.

A link proves the address it went to, so it may confirm any request waiting for that
address, not only the one it was sent for (see ``_link_fits``).
"""

import hmac
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.verification.allowance import address_of
from dsar.verification.codes import (
    VerificationFailed,
    complete,
    link_hash,
    record_failure,
    require_pending,
)
from dsar.verification.models import Challenge, Channel, Method, Verification
from dsar.workflow import transitions
from dsar.workflow.models import RightsRequest, Status


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
    return challenge.channel == address_of(request)[0] and (
        address_of(challenge.request) == address_of(request)
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
        or not hmac.compare_digest(link_hash(challenge.pk, secret or ""), challenge.link_hash)
    ):
        return []
    channel, address_hash = address_of(challenge.request)
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
        locked = transitions.lock(request)  # the transition below reuses this lock
        require_pending(locked)
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
        elif not hmac.compare_digest(link_hash(challenge.pk, secret or ""), challenge.link_hash):
            failure = VerificationFailed(_("This link is not valid."), reason="wrong")
        else:
            return complete(locked, challenge, Method.LINK, now)
        record_failure(locked, failure, Method.LINK)
    raise failure
