"""Verification answers which of the subject's identifiers are proven (``proof.py``); the
fan-out only adds what the dry runs reported (tests/fanout/test_subject_keys.py)."""

import pytest

from dsar.portal.services import file_request
from dsar.verification.proof import ProvenKeys, proven_hashes, proven_keys
from dsar.verification.services import verify_code
from dsar.workflow import identity
from tests.support.subject import code_from_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

TYPED = {"email": "li.lei@example.com", "phone": "+8613800138000", "account_id": "acct-1"}


def test_without_a_verification_the_own_addresses_count_and_the_account_id_never():
    request = file_request(type="access", **TYPED)
    assert proven_hashes(request) == {request.email_hash, request.phone_hash}
    # no downstream tie and no verification: the account id is never proven
    assert proven_keys(request).account_id == ""


def test_a_code_proves_the_address_it_went_to_and_only_with_a_tie_the_rest():
    request = file_request(type="access", **TYPED)
    verify_code(request=request, code=code_from_outbox(request.pk))
    request.refresh_from_db()
    assert proven_hashes(request) == {identity.email_hash(TYPED["email"])}
    assert proven_keys(request) == ProvenKeys(email=TYPED["email"])
    assert proven_keys(request, held_hashes={identity.email_hash("x@example.com")}) == (
        ProvenKeys(email=TYPED["email"])
    )
    held = {identity.email_hash(TYPED["email"]), identity.phone_hash(TYPED["phone"])}
    assert proven_keys(request, held_hashes=held) == ProvenKeys(**TYPED)
