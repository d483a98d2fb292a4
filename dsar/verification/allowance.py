"""How many messages an address may receive, and resends within the limits.

The only limit tied to an address is the messages it receives, whoever asks for them: an
intake's receipt and code count as one, each resend as one (``DSAR_CODE_RATE_ADDRESS``).
"""

from django.conf import settings

from dsar.audit.services import Actor, record_event
from dsar.verification import limits
from dsar.verification.codes import issue_challenge, require_pending
from dsar.verification.models import Challenge, Channel
from dsar.workflow import identity
from dsar.workflow.models import RightsRequest


def address_of(request: RightsRequest) -> tuple[str, str]:
    """The channel a request's messages go through and the keyed hash of its address there."""
    return _address(request.email_hash, request.phone_hash)


def _address(email_hash: str, phone_hash: str) -> tuple[str, str]:
    # The email address when there is one, else the mobile number (``channels.channel_for``).
    return (Channel.EMAIL, email_hash) if email_hash else (Channel.PHONE, phone_hash)


def message_limit(request: RightsRequest) -> limits.Limit:
    """How many verification messages the request's address may receive per window.

    Shared by every request for that address, whoever filed it: it bounds flooding an
    address, and it is the only limit tied to an address, so strangers filing requests for
    it spend messages, never the subject's right to file (``claim_message``).
    """
    _, address_hash = address_of(request)
    return _address_limit(address_hash)


def _address_limit(address_hash: str) -> limits.Limit:
    return limits.Limit("messages-address", address_hash, settings.DSAR_CODE_RATE_ADDRESS)


def claim_message(*, request: RightsRequest) -> bool:
    """Spend one message of the request's address allowance; False if none is left.

    A request that gets no message stays filed and waiting: the subject confirms it with the
    link of any other message we recently sent to the address (``verify_link``), or asks for
    a code once the allowance reopens. The audit trail says why nothing was sent.
    """
    if limits.take(message_limit(request)):
        return True
    held_back(request)
    return False


def claim_intake_message(*, email: str, phone: str, consuming: tuple = ()) -> bool:
    """``claim_message`` for a request about to be filed with these normalised contacts
    (the allowance of the address its messages will go to); if it answers False, say
    ``held_back`` of the request once it is created.

    ``consuming``: limits the intake spends first, in the same round trip to the cache
    (``limits.consume``): ``RateLimited``, and no message spent, if one of them is used up.
    """
    _, address_hash = _address(identity.email_hash(email), identity.phone_hash(phone))
    return limits.consume_and_take(consuming, _address_limit(address_hash))


def held_back(request: RightsRequest) -> None:
    """Say in the audit trail that the request's address got no message from us."""
    record_event(
        action="verification.held_back",
        actor=Actor.system("verification"),
        request_id=request.pk,
        payload={"reason": "address_message_limit"},
    )


def address_may_hear_of(request: RightsRequest) -> bool:
    """Whether later notices of ``request`` (withdrawn, expired) may go to its address.

    Not for a request that was held back by the address limit and never proven: the address
    heard nothing of it, and strangers filing and withdrawing requests must not be able to
    mail it without limit through the notices the limit does not count.
    """
    return request.verified_at is not None or Challenge.objects.filter(request=request).exists()


def resend_limits(request: RightsRequest, ip: str) -> tuple[limits.Limit, ...]:
    """The limits a resend spends: per request, per address (shared with intake), per IP."""
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
    require_pending(request)
    limits.consume(*resend_limits(request, ip))
    issue_challenge(request=request)
