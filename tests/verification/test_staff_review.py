"""Staff verification from uploaded evidence: encrypted, purged after the decision, recorded."""

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.access.roles import Role
from dsar.verification import evidence as evidence_service
from dsar.verification import services
from dsar.verification.models import Evidence, EvidenceStatus, Method, Strength
from dsar.verification.selectors import latest_verification, pending_evidence
from dsar.workflow.models import Status
from dsar.workflow.transitions import TransitionError

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def staff(role: str) -> User:
    user = User.objects.create_user(username=f"{role}-user", password="x")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def upload(request, content=PDF, name="passport.pdf"):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return evidence_service.submit_evidence(request=request, upload=file)


def raw_content(evidence_id) -> bytes:
    """What the evidence storage holds for an upload: empty once it is deleted."""
    name = Evidence.objects.values_list("file", flat=True).get(pk=evidence_id)
    store = storages["evidence"]
    if not name or not store.exists(name):
        return b""
    with store.open(name, "rb") as handle:
        return handle.read()


def test_evidence_is_encrypted_at_rest(make_request):
    evidence = upload(make_request())
    stored = raw_content(evidence.pk)
    assert b"%PDF" not in stored and len(stored) > len(PDF)
    assert evidence_service.evidence_content(evidence) == PDF


def test_type_comes_from_the_content_not_the_name(make_request):
    with pytest.raises(ValidationError):
        upload(make_request(), content=b"just text, named like a pdf", name="id.pdf")


def test_staff_verification_records_reviewer_method_and_strength(make_request):
    request, agent = make_request(), staff(Role.AGENT)
    evidence = upload(request)
    verification = services.verify_by_staff(request=request, user=agent, evidence_id=evidence.pk)
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW and request.due_at is not None
    assert latest_verification(request) == verification
    assert (verification.method, verification.channel, verification.strength) == (
        Method.STAFF_EVIDENCE,
        "evidence",
        Strength.STAFF_REVIEWED,
    )
    assert verification.reviewer == agent


def test_evidence_is_purged_after_the_decision(make_request):
    request = make_request()
    chosen, other = upload(request), upload(request)
    services.verify_by_staff(request=request, user=staff(Role.AGENT), evidence_id=chosen.pk)
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.status == EvidenceStatus.ACCEPTED and chosen.purged_at is not None
    assert other.status == EvidenceStatus.UNREVIEWED and other.purged_at is not None
    assert raw_content(chosen.pk) == b"" and raw_content(other.pk) == b""


def test_rejected_evidence_is_purged_and_the_request_still_waits(make_request):
    request, agent = make_request(), staff(Role.AGENT)
    evidence = upload(request)
    evidence_service.reject_evidence(
        request=request, user=agent, evidence_id=evidence.pk, reason="photo unreadable"
    )
    evidence.refresh_from_db()
    request.refresh_from_db()
    assert evidence.status == EvidenceStatus.REJECTED and raw_content(evidence.pk) == b""
    assert request.status == Status.PENDING_VERIFICATION
    assert pending_evidence(request) == []


def test_a_role_without_verify_cannot_verify(make_request):
    request = make_request()
    with pytest.raises(PermissionDenied):
        services.verify_by_staff(request=request, user=staff(Role.LEGAL), reason="call-back")
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION


def test_a_reason_alone_does_not_verify(make_request):
    request = make_request()
    with pytest.raises(ValidationError) as refused:
        services.verify_by_staff(request=request, user=staff(Role.AGENT), reason="called them")
    assert set(refused.value.message_dict) == {"evidence_id", "code"}
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION


def test_staff_codes_replace_each_other_but_not_the_subjects_code(make_request):
    from tests.support.subject import code_from_outbox

    request, agent = make_request(), staff(Role.AGENT)
    services.issue_challenge(request=request)
    first = services.send_staff_code(request=request, user=agent, channel="email")
    second = services.send_staff_code(request=request, user=agent, channel="email")
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    services.verify_code(request=request, code=code_from_outbox(request.pk))
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_a_read_back_code_records_the_reviewer_and_the_address(make_request):
    from tests.support.subject import read_back_code_from_outbox

    request, agent = make_request(), staff(Role.AGENT)
    services.send_staff_code(request=request, user=agent, channel="email")
    code = read_back_code_from_outbox(request.pk)
    verification = services.verify_by_staff(request=request, user=agent, code=code)
    assert (verification.method, verification.channel, verification.strength) == (
        Method.STAFF_CODE,
        "email",
        Strength.CONTACT,
    )
    assert verification.reviewer == agent and verification.identity_hash == request.email_hash


def test_evidence_of_another_request_is_refused(make_request):
    mine, other = make_request(), make_request()
    foreign = upload(other)
    with pytest.raises(ValidationError):
        services.verify_by_staff(request=mine, user=staff(Role.AGENT), evidence_id=foreign.pk)
    mine.refresh_from_db()
    assert mine.status == Status.PENDING_VERIFICATION


def test_upload_after_verification_is_refused(make_request):
    with pytest.raises(TransitionError):
        upload(make_request(status=Status.IN_REVIEW))


def test_code_verification_purges_waiting_uploads(make_request):
    from tests.support.subject import code_from_outbox

    request = make_request()
    from dsar.verification.services import issue_challenge

    issue_challenge(request=request)
    evidence = upload(request)
    services.verify_code(request=request, code=code_from_outbox(request.pk))
    assert raw_content(evidence.pk) == b""


def test_sniffing_accepts_jpeg_png_and_pdf_only():
    assert evidence_service.sniff(b"\xff\xd8\xff\xe0" + b"\x00" * 20) == "image/jpeg"
    assert evidence_service.sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20) == "image/png"
    assert evidence_service.sniff(PDF) == "application/pdf"
    assert evidence_service.sniff(b"GIF89a" + b"\x00" * 20) is None
    assert evidence_service.sniff(io.BytesIO(b"PK\x03\x04").read()) is None


def test_withdrawal_purges_waiting_uploads(make_request):
    from dsar.portal.services import withdraw_request

    request = make_request()
    evidence = upload(request)
    withdraw_request(request=request)
    assert raw_content(evidence.pk) == b""
