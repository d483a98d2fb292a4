"""Which identifiers of the subject a downstream system may act on (SPEC §8)."""

from __future__ import annotations

from dsar.fanout.connectors import SubjectKeys
from dsar.fanout.models import Action
from dsar.legal import relatives, sources
from dsar.verification.proof import proven_keys
from dsar.workflow.models import RightsRequest


def subject_keys(request: RightsRequest, *, action: str) -> SubjectKeys:
    """The identifiers a system may act on for ``action``: what the subject proved, never
    merely typed (SPEC §8: data is gathered or deleted only for the verified identity).

    - A dry run (``check``) gets everything the subject gave: it changes and discloses
      nothing, and its answer (the addresses a system holds for the account) is how a typed
      account id gets confirmed.
    - Every other action gets what verification says is proven (``proven_keys``), told
      which addresses the dry runs reported for the account.
    - An ``opt_out`` gets the proven address or phone only: it had no dry run.
    - A deceased subject's relative proved only their own contact: every action gets the
      deceased's identifiers as legal approved them, and nothing before the approval.
    """
    deceased = relatives.deceased_keys(request)
    if deceased is not None:
        return SubjectKeys(
            email=deceased.email, phone=deceased.phone, account_id=deceased.account_id
        )
    if action == Action.CHECK:
        return SubjectKeys(email=request.email, phone=request.phone, account_id=request.account_id)
    if action == Action.OPT_OUT:
        # The channel the opt-out concerns, as proven; never an account (none was checked).
        proven = proven_keys(request)
        return SubjectKeys(email=proven.email, phone=proven.phone, account_id="")
    # The dry runs' reports can only add an account id or a second address to the proven one;
    # a request that gave neither has nothing they could link, so they are not read.
    linkable = bool(request.account_id or (request.email and request.phone))
    held = sources.held_identity_hashes(request) if linkable else None
    proven = proven_keys(request, held_hashes=held)
    return SubjectKeys(email=proven.email, phone=proven.phone, account_id=proven.account_id)
