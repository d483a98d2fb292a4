"""Each check of SPEC §5 with a request that triggers it and one that does not."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone, translation

from dsar.audit.services import Actor
from dsar.legal import holds
from dsar.legal.engine import run_checks
from dsar.legal.models import HoldKind, Severity
from dsar.verification.models import Channel, Method, Strength, Verification
from dsar.workflow.models import RequestType, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.legal.support import findings_of

pytestmark = pytest.mark.django_db
T = RequestType


def hold(user, email="subject@example.com", **extra):
    fields = {
        "kind": HoldKind.LITIGATION,
        "reason": "Pending lawsuit",
        "reference": "(2025)沪01民初1号",
    }
    return holds.place_hold(user=user, email=email, **{**fields, **extra})


# --- 1. legal hold ---------------------------------------------------------------------


def test_hold_on_the_subject_blocks_a_deletion(verified, legal):
    hold(legal)
    request = verified(type=T.DELETION)
    [finding] = findings_of(request, "legal_hold")
    assert finding.severity == Severity.BLOCKING
    assert "(2025)沪01民初1号" in finding.explanation


def test_deletion_of_a_subject_without_hold_has_no_hold_finding(verified, legal):
    hold(legal, email="someone-else@example.com")
    assert findings_of(verified(type=T.DELETION), "legal_hold") == []


def test_hold_does_not_concern_an_access_request(verified, legal):
    hold(legal)
    assert findings_of(verified(type=T.ACCESS), "legal_hold") == []


def test_hold_past_its_end_date_no_longer_blocks(verified, legal):
    with time_machine.travel(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        hold(legal, ends_on=dt.date(2025, 3, 10))
    with time_machine.travel(dt.datetime(2025, 3, 11, 12, tzinfo=dt.UTC), tick=False):
        assert findings_of(verified(type=T.DELETION), "legal_hold") == []


# --- 2. statutory retention ------------------------------------------------------------


def test_retained_category_held_downstream_yields_a_retention_finding(verified, report):
    request = verified(type=T.DELETION)
    report(request, categories=["transaction_records"])
    [finding] = findings_of(request, "statutory_retention")
    assert finding.severity == Severity.ADVISORY
    assert finding.legal_reference == "E-Commerce Law of the PRC, Art. 31"
    with translation.override("en"):
        assert "36 months from completion of the transaction" in finding.explanation


def test_finding_explanations_are_shown_in_the_staff_members_language(verified, report):
    request = verified(type=T.CANCELLATION)
    report(request, system="wallet", obligations=["balance"])
    [finding] = findings_of(request, "open_obligations")
    with translation.override("zh-hans"):
        assert finding.explanation.startswith("wallet 报告存在未了结的义务（balance）")


def test_no_retention_finding_when_no_retained_category_is_held(verified, report):
    request = verified(type=T.DELETION)
    report(request, categories=["learning_progress"])
    assert findings_of(request, "statutory_retention") == []


# --- 3. repeated requests ----------------------------------------------------------------


def test_third_verified_request_of_a_type_within_a_year_is_flagged(verified):
    verified(type=T.ACCESS, status=Status.COMPLETED)
    verified(type=T.ACCESS, status=Status.COMPLETED)
    [finding] = findings_of(verified(type=T.ACCESS), "repeated_requests")
    assert finding.severity == Severity.ADVISORY
    assert finding.params == {"count": 3, "limit": 2}


def test_second_request_is_not_a_repeat(verified):
    verified(type=T.ACCESS, status=Status.COMPLETED)
    assert findings_of(verified(type=T.ACCESS), "repeated_requests") == []


def test_requests_of_another_type_do_not_count(verified):
    verified(type=T.CORRECTION, status=Status.COMPLETED)
    verified(type=T.CORRECTION, status=Status.COMPLETED)
    assert findings_of(verified(type=T.ACCESS), "repeated_requests") == []


def test_requests_verified_more_than_twelve_months_ago_do_not_count(verified):
    with time_machine.travel(dt.datetime(2024, 1, 5, tzinfo=dt.UTC), tick=False):
        verified(type=T.ACCESS, status=Status.COMPLETED)
        verified(type=T.ACCESS, status=Status.COMPLETED)
    with time_machine.travel(dt.datetime(2025, 2, 1, tzinfo=dt.UTC), tick=False):
        assert findings_of(verified(type=T.ACCESS), "repeated_requests") == []


def test_unverified_withdrawn_and_expired_requests_do_not_count(verified):
    email = "subject@example.com"
    create_request(type=T.ACCESS, email=email)  # never verified
    expired = create_request(type=T.ACCESS, email=email)
    transition(expired, to=Status.EXPIRED, actor=Actor.system("test"))
    verified(type=T.ACCESS, status=Status.WITHDRAWN)
    verified(type=T.ACCESS, status=Status.COMPLETED)
    assert findings_of(verified(type=T.ACCESS, email=email), "repeated_requests") == []


def test_attackers_unverified_requests_for_the_victims_address_do_not_count(verified):
    for _ in range(5):
        create_request(type=T.DELETION, email="victim@example.com")
    victim = verified(type=T.DELETION, email="victim@example.com")
    assert findings_of(victim, "repeated_requests") == []
    assert victim.status == Status.IN_REVIEW


def test_request_verified_through_the_attackers_phone_does_not_count_for_the_victim(verified):
    for _ in range(3):
        request = create_request(
            type=T.DELETION, email="victim@example.com", phone="+8613800138000"
        )
        Verification.objects.create(
            request=request,
            method=Method.CODE,
            channel=Channel.PHONE,
            strength=Strength.CONTACT,
            identity_hash=request.phone_hash,
            created_at=timezone.now(),
        )
        transition(request, to=Status.IN_REVIEW, actor=TEST_STAFF)
    victim = verified(type=T.DELETION, email="victim@example.com")
    assert findings_of(victim, "repeated_requests") == []


# --- 4. open obligations -----------------------------------------------------------------


def test_open_obligation_reported_downstream_blocks_a_cancellation(verified, report):
    request = verified(type=T.CANCELLATION)
    report(request, system="wallet", obligations=["balance"])
    [finding] = findings_of(request, "open_obligations")
    assert (finding.severity, finding.key) == (Severity.BLOCKING, "wallet:balance")


def test_cancellation_without_open_obligations_has_no_obligation_finding(verified, report):
    request = verified(type=T.CANCELLATION)
    report(request, system="wallet", obligations=[])
    assert findings_of(request, "open_obligations") == []


def test_resolved_obligation_clears_its_finding(verified, report):
    request = verified(type=T.CANCELLATION)
    report(request, system="shop", obligations=["open_order"])
    report(request, system="shop", obligations=[])
    assert findings_of(request, "open_obligations") == []


# --- 5. verification strength ------------------------------------------------------------


def test_verification_through_an_address_the_platform_does_not_hold_blocks(verified, report):
    request = verified(type=T.DELETION, email="typed@example.com")
    report(request, holds=["on-file@example.com"])
    [finding] = findings_of(request, "verification_strength")
    assert (finding.severity, finding.key) == (Severity.BLOCKING, "not_held")


def test_verification_through_an_address_on_file_passes(verified, report):
    request = verified(type=T.DELETION, email="on-file@example.com")
    report(request, holds=["ON-FILE@example.com"])
    assert findings_of(request, "verification_strength") == []


def test_staff_reviewed_evidence_passes_the_strength_check(report, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dsar.verification.evidence import submit_evidence
    from dsar.verification.services import verify_by_staff

    request = create_request(type=T.ACCESS, email="typed@example.com")
    document = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n%%EOF\n")
    evidence = submit_evidence(request=request, upload=document)
    verify_by_staff(request=request, user=agent, evidence_id=evidence.pk)
    report(request, holds=["on-file@example.com"])
    assert findings_of(request, "verification_strength") == []


def test_a_code_staff_sent_to_a_typed_address_is_judged_like_any_code(report, agent):
    from dsar.verification.services import send_staff_code, verify_by_staff
    from tests.support.subject import read_back_code_from_outbox

    request = create_request(type=T.ACCESS, email="typed@example.com")
    send_staff_code(request=request, user=agent, channel="email")
    verify_by_staff(request=request, user=agent, code=read_back_code_from_outbox(request.pk))
    report(request, holds=["on-file@example.com"])
    [finding] = findings_of(request, "verification_strength")
    assert (finding.severity, finding.key) == (Severity.BLOCKING, "not_held")


def test_correction_does_not_need_a_held_channel(verified, report):
    request = verified(type=T.CORRECTION, email="typed@example.com")
    report(request, holds=["on-file@example.com"])
    assert findings_of(request, "verification_strength") == []


def test_unknown_held_addresses_give_an_advisory_not_a_block(verified):
    [finding] = findings_of(verified(type=T.ACCESS), "verification_strength")
    assert (finding.severity, finding.key) == (Severity.ADVISORY, "unconfirmed")


def test_checks_find_nothing_for_an_ordinary_correction(verified):
    request = verified(type=T.CORRECTION)
    assert run_checks(request, stage="test") == []
