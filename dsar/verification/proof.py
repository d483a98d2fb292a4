"""Which of the subject's identifiers the verification proved (SPEC §8: data is gathered or
deleted only for the verified identity). The fan-out asks this before acting on any key.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.verification.models import Strength
from dsar.verification.selectors import latest_proof
from dsar.workflow.models import RightsRequest


@dataclass(frozen=True)
class ProvenKeys:
    """The identifiers of a request that may be acted on; empty where nothing proved one."""

    email: str = ""
    phone: str = ""
    account_id: str = ""


UNREAD = object()  # ``proven_hashes`` reads the verification itself


def proven_hashes(request: RightsRequest, *, verification=UNREAD) -> set[str]:
    """The keyed hashes of the addresses the subject proved they control: the address a code
    or link went to; after staff review of a document (or with no verification to read), the
    request's own hashes. Pass ``verification`` (the latest, or None for none) when it was
    already read."""
    if verification is UNREAD:
        verification = latest_proof(request)
    if verification is not None and verification.identity_hash:
        return {verification.identity_hash}
    return {h for h in (request.email_hash, request.phone_hash) if h}


def proven_keys(request: RightsRequest, *, held_hashes: set[str] | None = None) -> ProvenKeys:
    """The identifiers of ``request`` its verification proved, never those merely typed.

    - After staff verified the subject by an identity document they reviewed: everything
      the subject gave.
    - Otherwise the verified address only (a code or link proved it). The account id, and a
      second address, only when ``held_hashes`` (the keyed hashes of the addresses
      downstream systems said, in a dry run, they hold for the account) include the proven
      address: without that, anyone could prove their own mailbox and name someone else's
      account. The caller reads ``held_hashes`` from the dry-run reports, which verification
      does not own.
    """
    verification = latest_proof(request)
    if verification is not None and verification.strength == Strength.STAFF_REVIEWED:
        return ProvenKeys(email=request.email, phone=request.phone, account_id=request.account_id)
    proven = proven_hashes(request, verification=verification)
    held = held_hashes or set()
    linked = bool(proven & held)  # a system ties the proven address to the account

    def usable(value: str, digest: str) -> str:
        return value if digest and (digest in proven or (linked and digest in held)) else ""

    return ProvenKeys(
        email=usable(request.email, request.email_hash),
        phone=usable(request.phone, request.phone_hash),
        account_id=request.account_id if linked else "",
    )
