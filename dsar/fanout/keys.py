"""Which identifiers of the subject a downstream system may act on (SPEC §8)."""

from __future__ import annotations

from dsar.fanout.connectors import SubjectKeys
from dsar.fanout.models import Action
from dsar.legal import sources
from dsar.workflow.models import RightsRequest


def subject_keys(request: RightsRequest, *, action: str) -> SubjectKeys:
    """The identifiers a system may act on for ``action``: what the subject proved, never
    merely typed (SPEC §8: data is gathered or deleted only for the verified identity).

    - A dry run (``check``) gets everything the subject gave: it changes and discloses
      nothing, and its answer (the addresses a system holds for the account) is how a typed
      account id gets confirmed.
    - After staff verified the subject by identity evidence, everything the subject gave.
    - Otherwise the verified address only (a code or link proved it). The account id, and a
      second address, only once a system's dry run said it holds the verified address for
      that account: without that, anyone could prove their own mailbox and name someone
      else's account.
    """
    typed = SubjectKeys(email=request.email, phone=request.phone, account_id=request.account_id)
    if action == Action.CHECK:
        return typed
    facts = sources.latest_verification(request)
    if facts is not None and facts.strength == "staff_reviewed":
        return typed
    proven = sources.verified_hashes(request, facts=facts)
    held = sources.held_identity_hashes(request) or set()
    linked = bool(proven & held)  # a system ties the proven address to the account

    def usable(value: str, digest: str) -> str:
        return value if digest and (digest in proven or (linked and digest in held)) else ""

    return SubjectKeys(
        email=usable(request.email, request.email_hash),
        phone=usable(request.phone, request.phone_hash),
        account_id=request.account_id if linked else "",
    )
