"""Proving identity: the public services of verification, one module per job.

A request leaves ``pending_verification`` only through these (or withdrawal), and always
through ``transition()``.

- ``codes``: issuing a code and link, checking a code, completing a verification;
- ``links``: one-click links, which may confirm any request waiting for the same address;
- ``allowance``: the messages an address may receive, and resends;
- ``receipts``: an intake's receipt and first code, sent by the messages worker;
- ``staff_review``: staff verification on recorded evidence (a document, a read-back code);
- ``expiry``: closing requests never verified;
- ``proof``: which of the subject's identifiers the verification proved.
"""

from dsar.verification.allowance import (
    address_may_hear_of,
    claim_intake_message,
    claim_message,
    held_back,
    message_limit,
    resend_code,
    resend_limits,
)
from dsar.verification.codes import VerificationFailed, issue_challenge, verify_code
from dsar.verification.expiry import expire_unverified
from dsar.verification.links import requests_for_link, verify_link
from dsar.verification.staff_review import send_staff_code, verify_by_staff

__all__ = [
    "VerificationFailed",
    "address_may_hear_of",
    "claim_intake_message",
    "claim_message",
    "expire_unverified",
    "held_back",
    "issue_challenge",
    "message_limit",
    "requests_for_link",
    "resend_code",
    "resend_limits",
    "send_staff_code",
    "verify_by_staff",
    "verify_code",
    "verify_link",
]
