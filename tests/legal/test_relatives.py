"""A close relative of a deceased subject (PIPL Art. 49): filed on the public API and form with
the relative's own contact and documents, held until legal approves the evidence, refused with
a named basis, blocked by the deceased's own arrangement; the answer goes to the relative."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.legal import relatives
from dsar.legal.models import (
    ArrangementScope,
    DeceasedArrangement,
    LegalReview,
    Representation,
    RepresentationDocument,
)
from dsar.notifications.models import OutboundEmail
from dsar.staff import metrics
from dsar.staff import services as staff
from dsar.staff.selectors import allowed_actions
from dsar.workflow.identity import email_hash
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError
from tests.legal.support import findings_of
from tests.support.subject import code_from_outbox
from tests.support.untranslated import untranslated

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n" + b"0" * 200
RELATIVE = "zhang.san@example.com"
DECEASED = "li.lei@example.com"


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path, fresh_limits):
    settings.DSAR_EVIDENCE_DIR = str(tmp_path / "evidence")
    return tmp_path / "evidence"


def stored_files(evidence_dir) -> list:
    return [p for p in evidence_dir.rglob("*") if p.is_file()] if evidence_dir.exists() else []


def relative_body(**overrides):
    body = {
        "type": "access",
        "email": RELATIVE,
        "full_name": "Zhang San",
        "language": "en",
        "filed_as": "relative",
        "relationship": "child",
        "lawful_interest": "Settling my father's estate: I need his order history.",
        "deceased_name": "Li Lei",
        "deceased_email": DECEASED,
        "death_certificate": SimpleUploadedFile("death.png", PNG, "image/png"),
        "relationship_proof": SimpleUploadedFile("hukou.pdf", PDF, "application/pdf"),
    }
    return {k: v for k, v in {**body, **overrides}.items() if v is not None}


def file_by_api(client, **overrides):
    return client.post("/api/v1/requests/", relative_body(**overrides), format="multipart")


@pytest.fixture
def verified_relative(db, client):
    """A relative's access request, filed on the API and verified with the relative's code."""

    def make(**overrides):
        answer = file_by_api(client, **overrides)
        assert answer.status_code == 201, answer.content
        pk = answer.json()["id"]
        code = code_from_outbox(pk)
        assert client.post(f"/api/v1/requests/{pk}/verify/", {"code": code}).status_code == 200
        return RightsRequest.objects.get(pk=pk)

    return make


@pytest.fixture
def crm(db):
    return DownstreamSystem.objects.create(
        name="crm", kind="notify", actions=["export", "delete"], config="{}"
    )


def review(api, request, **body):
    return api.post(f"/api/v1/staff/requests/{request.pk}/relative-review/", body, format="json")


def test_codes_and_notices_go_to_the_relative_and_never_to_the_deceased(verified_relative):
    request = verified_relative()
    assert (request.email, request.full_name, request.account_id) == (RELATIVE, "Zhang San", "")
    assert request.status == Status.IN_REVIEW
    sent = OutboundEmail.objects.filter(request_id=request.pk)
    assert {m.template for m in sent} >= {"receipt", "code"}
    assert {m.to for m in sent} == {RELATIVE}
    representation = Representation.objects.get(request=request)
    assert representation.kind == "relative" and representation.legal_review == "pending"
    assert representation.deceased_email_hash == email_hash(DECEASED)
    assert sorted(d.kind for d in representation.documents.all()) == [
        "death_certificate",
        "relationship_proof",
    ]
    # No personal data in the audit trail: the kind and a count, nothing of the deceased.
    [event] = AuditEvent.objects.filter(action="representation.recorded")
    assert set(event.payload) == {"representation_id", "kind", "documents"}
    assert DECEASED not in str(list(AuditEvent.objects.values_list("payload", flat=True)))


def test_blocked_until_legal_approves_then_the_work_acts_on_the_deceaseds_identifiers(
    verified_relative, crm, agent, api_as, evidence_dir, django_capture_on_commit_callbacks
):
    request = verified_relative()
    # Verified, in review, but nothing downstream: not even a dry run.
    assert not FanoutTask.objects.filter(request=request).exists()
    assert "approve" not in allowed_actions(request, user=agent)  # not offered, and refused:
    with pytest.raises(TransitionError):
        staff.approve(request=request, user=agent)
    assert (
        api_as("supervisor").post(f"/api/v1/staff/requests/{request.pk}/approve/", {}).status_code
        == 409
    )
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert not FanoutTask.objects.filter(request=request).exists()
    assert relatives.deceased_keys(request).email == ""  # nothing to act on yet
    assert len(stored_files(evidence_dir)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        approved = review(api_as("legal"), request, decision="approve",
                          lawful_interest="Estate of the deceased (inheritance).")  # fmt: skip
    assert approved.status_code == 200, approved.content
    detail = approved.json()["representation"]
    assert (detail["kind"], detail["legal_review"], detail["documents"]) == (
        "relative", "approved", [],
    )  # fmt: skip
    assert stored_files(evidence_dir) == []  # the documents go once legal decided
    assert OutboundEmail.objects.get(request_id=request.pk, template="relative_approved").to == (
        RELATIVE
    )
    request.refresh_from_db()
    assert "approve" in allowed_actions(request, user=agent)
    staff.approve(request=request, user=agent)
    [task] = FanoutTask.objects.filter(request=request, action="export")
    keys = relatives.deceased_keys(request)
    assert (keys.email, keys.phone) == (DECEASED, "")
    assert AuditEvent.objects.filter(action="relative.approved").count() == 1


def test_legal_refuses_with_a_basis_and_the_relative_is_told_how_to_complain(
    verified_relative, api_as, crm, evidence_dir, django_capture_on_commit_callbacks
):
    request = verified_relative()
    legal = api_as("legal")
    missing = review(legal, request, decision="refuse", basis="other")
    assert missing.status_code == 400
    assert Representation.objects.get().legal_review == LegalReview.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        refused = review(legal, request, decision="refuse", basis="harm_to_others",
                         explanation="The documents do not show the relationship.")  # fmt: skip
    assert refused.status_code == 200, refused.content
    request.refresh_from_db()
    assert request.status == Status.DENIED
    representation = Representation.objects.get()
    assert (representation.legal_review, representation.review_basis) == (
        "refused", "harm_to_others",
    )  # fmt: skip
    [told] = OutboundEmail.objects.filter(request_id=request.pk, template="decision_denied")
    assert told.to == RELATIVE and "complain" in told.body.lower()
    assert not FanoutTask.objects.filter(request=request).exists()
    assert stored_files(evidence_dir) == []
    again = review(legal, request, decision="approve", lawful_interest="x")
    assert again.status_code == 409


@pytest.mark.parametrize(
    "scope, type, blocked",
    [
        (ArrangementScope.NOTHING, "deletion", True),
        (ArrangementScope.NO_DISCLOSURE, "access", True),
        (ArrangementScope.NO_DISCLOSURE, "deletion", False),
    ],
)
def test_the_deceaseds_arrangement_is_shown_and_honoured(
    verified_relative, client, legal, scope, type, blocked
):
    DeceasedArrangement.objects.create(
        email=DECEASED, email_hash=email_hash(DECEASED), scope=scope, source="App setting"
    )
    request = verified_relative(type=type)
    client.force_login(legal)
    page = client.get(reverse("staff:request", kwargs={"pk": request.pk}))
    assert b"App setting" in page.content
    api = APIClient()
    api.force_authenticate(legal)
    answer = review(api, request, decision="approve", lawful_interest="Estate.")
    if blocked:
        assert answer.status_code == 400
        assert "arrangement" in answer.json()["error"]["fields"]
        assert Representation.objects.get().legal_review == LegalReview.PENDING
    else:
        assert answer.status_code == 200


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"death_certificate": None}, "death_certificate"),
        ({"relationship_proof": None}, "relationship_proof"),
        ({"relationship": "cousin"}, "relationship"),
        ({"type": "cancellation"}, "filed_as"),
        ({"lawful_interest": " "}, "lawful_interest"),
        ({"deceased_email": ""}, "deceased_email"),
        ({"full_name": ""}, "full_name"),
        ({"death_certificate": SimpleUploadedFile("x.txt", b"hello", "text/plain")},
         "death_certificate"),
        ({"relationship_proof": SimpleUploadedFile("big.png", PNG + b"\0" * 2048)},
         "relationship_proof"),
    ],
)  # fmt: skip
def test_bad_input_gets_field_messages_and_writes_nothing(
    client, settings, evidence_dir, overrides, field
):
    settings.DSAR_EVIDENCE_MAX_BYTES = 1024  # the big PNG is over it
    answer = file_by_api(client, **overrides)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"]
    assert not RightsRequest.objects.exists()
    assert not Representation.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert stored_files(evidence_dir) == []


def test_only_legal_opens_the_evidence_and_decides(verified_relative, api_as, client, staff_user):
    request = verified_relative()
    for role in ("agent", "supervisor", "admin"):
        answer = review(api_as(role), request, decision="approve", lawful_interest="Estate.")
        assert answer.status_code == 403
    [document, _] = RepresentationDocument.objects.order_by("kind")
    url = reverse("staff:representation-document", kwargs={"pk": request.pk,
                                                          "document_id": document.pk})  # fmt: skip
    client.force_login(staff_user("agent", "an-agent"))
    assert client.get(url).status_code == 403
    # The page's form does not move it either: the service refuses the role.
    client.post(reverse("staff:act", kwargs={"pk": request.pk, "action": "approve-relative"}),
                {"lawful_interest": "Estate."})  # fmt: skip
    assert Representation.objects.get().legal_review == LegalReview.PENDING
    client.force_login(staff_user("legal", "a-lawyer"))
    opened = client.get(url)
    assert opened.status_code == 200 and opened.content == PNG
    assert opened["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(action="representation.document_opened").count() == 1


def test_the_staff_page_queue_and_metrics_know_the_relative(verified_relative, client, legal):
    request = verified_relative()
    other = verified_relative(email="someone.else@example.com", filed_as="self")
    client.force_login(legal)
    page = client.get(
        reverse("staff:request", kwargs={"pk": request.pk}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert b"Filed by a close relative of a deceased subject" in page.content
    assert b"Approve the evidence" in page.content and b"Death certificate" in page.content
    queue = client.get("/api/v1/staff/requests/?awaiting_legal=true")
    assert [r["id"] for r in queue.json()["results"]] == [str(request.pk)]
    assert str(other.pk) not in str(queue.json())
    listed = client.get(reverse("staff:queue") + "?awaiting_legal=true")
    assert request.reference.encode() in listed.content
    assert other.reference.encode() not in listed.content
    [row] = metrics.yearly_representations()
    assert (row["kind"], row["received"], row["awaiting_review"], row["approved"]) == (
        "relative", 1, 1, 0,
    )  # fmt: skip


def test_the_portal_form_files_a_relatives_request(client, evidence_dir):
    form = relative_body()
    form.pop("type")
    form.pop("language")
    answer = client.post(reverse("portal:file", kwargs={"type": "deletion"}), form,
                         HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    request = RightsRequest.objects.get()
    assert request.type == "deletion" and request.email == RELATIVE
    assert Representation.objects.get().relationship == "child"
    assert len(stored_files(evidence_dir)) == 2
    # The relative follows it: the verify page opens in this browser.
    assert client.get(answer["Location"]).status_code == 200


def test_the_portal_form_refuses_a_relative_without_documents(client):
    form = relative_body(death_certificate=None, relationship_proof=None)
    form.pop("type")
    answer = client.post(reverse("portal:file", kwargs={"type": "access"}), form,
                         HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert answer.status_code == 400
    assert b"Upload this document" in answer.content
    assert not RightsRequest.objects.exists()


def test_the_review_and_the_dashboard_in_chinese_hold_no_english(verified_relative, client, legal):
    request = verified_relative(language="zh-hans")
    DeceasedArrangement.objects.create(
        email=DECEASED, email_hash=email_hash(DECEASED), scope="no_disclosure", source="应用设置"
    )
    client.force_login(legal)
    # What the relative typed, and the documents' types, are shown as they are.
    data = (request.reference, "legal-user", "Zhang San", "Li Lei", RELATIVE, "image/png",
            "application/pdf", relative_body()["lawful_interest"])  # fmt: skip
    for url in (
        reverse("staff:request", kwargs={"pk": request.pk}),
        reverse("staff:dashboard"),
        reverse("staff:queue") + "?awaiting_legal=true",
    ):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert untranslated(page, data=data) == [], url


def test_a_hold_on_the_deceased_stops_the_relatives_deletion_and_one_on_the_relative_does_not(
    verified_relative, agent, legal
):
    """The legal checks look at the subject, who is the deceased: a hold on the deceased's
    address blocks the relative's deletion; a hold on the relative's own address is not about
    this data and blocks nothing."""
    from dsar.legal import holds
    from dsar.legal.models import HoldKind, Severity

    def hold(email):
        return holds.place_hold(user=legal, email=email, kind=HoldKind.INVESTIGATION,
                                reason="Police request", reference="PSB-2026-12")  # fmt: skip

    def blocking(request):
        return [f.check_name for f in request.findings.all() if f.severity == Severity.BLOCKING]

    on_relative = hold(RELATIVE)
    request = verified_relative(type="deletion")
    relatives.approve(request=request, user=legal, lawful_interest="Closing my father's accounts.")
    assert "legal_hold" not in blocking(request)
    holds.lift_hold(hold=on_relative, user=legal, reason="Closed")

    hold(DECEASED)
    advisories = [str(f.pk) for f in request.findings.all() if f.severity == Severity.ADVISORY]
    with pytest.raises(TransitionError) as refused:
        staff.approve(request=request, user=agent, acknowledged=advisories)
    assert "(legal hold)" in str(refused.value)
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW
    assert not FanoutTask.objects.filter(request=request, action="delete").exists()


def test_repeated_requests_of_a_relative_count_those_about_the_same_deceased(
    verified_relative, verified, settings
):
    settings.DSAR_REPEAT_LIMIT = 1
    # The relative's own requests for their own data are not about the deceased.
    verified(type="access", email=RELATIVE, status=Status.COMPLETED)
    verified(type="access", email=RELATIVE, status=Status.COMPLETED)
    first = verified_relative()
    assert findings_of(first, "repeated_requests") == []
    # Another relative asking about the same deceased: the second such request this year.
    second = verified_relative(email="li.mei@example.com")
    [finding] = findings_of(second, "repeated_requests")
    assert finding.params == {"count": 2, "limit": 1}
    # A request about another deceased does not count them.
    other = verified_relative(email="li.mei@example.com", deceased_email="wang.wu@example.com")
    assert findings_of(other, "repeated_requests") == []
