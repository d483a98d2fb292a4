"""Which identifiers a downstream system is given (SPEC §8: only the verified identity).

The subject types an email, a phone and an account id; a code proves only the address it was
sent to. These tests file and verify through the real services and read what each action
would be sent.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.fanout.connectors import SubjectKeys
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import Action
from dsar.legal.reports import record_downstream_check
from dsar.portal.services import file_request
from dsar.verification.evidence import submit_evidence
from dsar.verification.services import send_staff_code, verify_by_staff, verify_code
from dsar.workflow import identity
from tests.support.subject import (
    code_from_outbox,
    read_back_code_from_sms,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

TYPED = {"email": "li.lei@example.com", "phone": "+8613800138000", "account_id": "acct-1"}


@pytest.fixture
def code_verified():
    """A request whose email was proven with a code; phone and account id only typed."""
    request = file_request(type="access", **TYPED)
    verify_code(request=request, code=code_from_outbox(request.pk))
    request.refresh_from_db()
    return request


def test_a_code_proves_only_the_address_it_went_to(code_verified):
    keys = subject_keys(code_verified, action=Action.EXPORT)
    assert keys == SubjectKeys(email=TYPED["email"])


def test_a_dry_run_gets_every_typed_identifier_to_confirm_the_account(code_verified):
    keys = subject_keys(code_verified, action=Action.CHECK)
    assert keys == SubjectKeys(**TYPED)


def test_a_system_holding_the_proven_address_for_the_account_links_the_account(code_verified):
    record_downstream_check(
        request=code_verified,
        system="shop",
        identity_hashes=[identity.email_hash(TYPED["email"]), identity.phone_hash(TYPED["phone"])],
    )
    keys = subject_keys(code_verified, action=Action.DELETE)
    assert keys == SubjectKeys(**TYPED)


def test_a_system_holding_other_addresses_for_the_account_links_nothing(code_verified):
    record_downstream_check(
        request=code_verified,
        system="shop",
        identity_hashes=[identity.email_hash("someone.else@example.com")],
    )
    keys = subject_keys(code_verified, action=Action.DELETE)
    assert keys == SubjectKeys(email=TYPED["email"])


def test_staff_review_of_identity_evidence_vouches_for_everything_given(staff_user):
    request = file_request(type="deletion", **TYPED)
    document = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n%%EOF\n")
    evidence = submit_evidence(request=request, upload=document)
    verify_by_staff(request=request, user=staff_user("agent"), evidence_id=evidence.pk)
    request.refresh_from_db()
    assert subject_keys(request, action=Action.DELETE) == SubjectKeys(**TYPED)


def test_a_code_staff_sent_to_the_phone_proves_only_the_phone(
    staff_user, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.DSAR_SMS_DIR = str(tmp_path)
    agent = staff_user("agent")
    request = file_request(type="deletion", **TYPED)
    with django_capture_on_commit_callbacks(execute=True):  # the SMS leaves after commit
        send_staff_code(request=request, user=agent, channel="phone")
    verify_by_staff(request=request, user=agent, code=read_back_code_from_sms(tmp_path))
    request.refresh_from_db()
    assert subject_keys(request, action=Action.DELETE) == SubjectKeys(phone=TYPED["phone"])
