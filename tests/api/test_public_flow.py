"""Public API, the happy paths: file, verify by code, follow, withdraw, reply."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from dsar.notifications.models import OutboundEmail
from dsar.sla import clock
from dsar.verification.models import Method, Strength
from dsar.verification.selectors import latest_verification
from dsar.workflow.models import RequestType, RightsRequest, Status
from tests.support.subject import code_from_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]


@pytest.fixture
def api():
    return APIClient()


def file(api, **fields):
    body = {"type": "deletion", "email": "li.lei@example.com", **fields}
    return api.post("/api/v1/requests/", body, format="json")


def test_create_code_from_email_verify_starts_the_clock(api):
    created = file(api)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "reference", "type", "status", "status_token", "code_sent"}
    assert body["code_sent"] is True
    assert body["status"] == "pending_verification"
    code = code_from_outbox(body["id"])

    verified = api.post(f"/api/v1/requests/{body['id']}/verify/", {"code": code}, format="json")

    assert verified.status_code == 200
    assert verified.json()["status"] == "in_review"
    request = RightsRequest.objects.get(pk=body["id"])
    assert request.status == Status.IN_REVIEW
    assert request.due_at == clock.due_at_for(verified_at=request.verified_at)


def test_intake_sends_receipt_and_code_in_the_chosen_language(api):
    body = file(api, language="en").json()
    emails = OutboundEmail.objects.filter(request_id=body["id"]).order_by("created_at")
    assert [e.template for e in emails] == ["receipt", "code"]
    assert all(e.language == "en" and e.to == "li.lei@example.com" for e in emails)
    assert body["reference"] in emails[0].subject
    assert emails[1].subject.startswith("Your verification code")


def test_language_defaults_to_simplified_chinese(api):
    body = file(api).json()
    receipt = OutboundEmail.objects.get(request_id=body["id"], template="receipt")
    assert receipt.language == "zh-hans"
    assert "我们已收到您的请求" in receipt.subject


def test_verified_email_gives_the_due_date(api):
    body = file(api, language="en").json()
    api.post(
        f"/api/v1/requests/{body['id']}/verify/",
        {"code": code_from_outbox(body["id"])},
        format="json",
    )
    verified = OutboundEmail.objects.get(request_id=body["id"], template="verified")
    request = RightsRequest.objects.get(pk=body["id"])
    with translation.override("en"):
        shown = clock.format_deadline(request.due_at)
    assert f"We will reply by {shown}." in verified.body
    assert shown.endswith(", end of day (China Standard Time, UTC+8)")


def test_code_verification_is_recorded_with_channel_and_strength(api):
    body = file(api).json()
    request = RightsRequest.objects.get(pk=body["id"])
    assert latest_verification(request) is None
    api.post(
        f"/api/v1/requests/{body['id']}/verify/",
        {"code": code_from_outbox(body["id"])},
        format="json",
    )
    verification = latest_verification(request)
    assert (verification.method, verification.channel, verification.strength) == (
        Method.CODE,
        "email",
        Strength.CONTACT,
    )
    assert verification.identity_hash == request.email_hash


def test_status_shows_the_public_timeline(api):
    body = file(api).json()
    api.post(
        f"/api/v1/requests/{body['id']}/verify/",
        {"code": code_from_outbox(body["id"])},
        format="json",
    )
    status = api.get(f"/api/v1/requests/{body['id']}/", HTTP_X_STATUS_TOKEN=body["status_token"])
    assert status.status_code == 200
    data = status.json()
    assert data["reference"] == body["reference"]
    assert [step["status"] for step in data["timeline"]] == ["pending_verification", "in_review"]
    assert data["due_at"] is not None and data["can_withdraw"] is True


def test_withdraw_closes_the_request_and_tells_the_subject(api):
    body = file(api).json()
    answer = api.post(
        f"/api/v1/requests/{body['id']}/withdraw/", {"token": body["status_token"]}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "withdrawn"
    assert OutboundEmail.objects.filter(request_id=body["id"], template="withdrawn").exists()


def test_withdrawing_twice_answers_409(api):
    body = file(api).json()
    url = f"/api/v1/requests/{body['id']}/withdraw/"
    api.post(url, {"token": body["status_token"]}, format="json")
    again = api.post(url, {"token": body["status_token"]}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_reply_while_awaiting_subject_resumes_review(api, make_request):
    from dsar.verification.tokens import make_status_token

    request = make_request(status=Status.AWAITING_SUBJECT)
    answer = api.post(
        f"/api/v1/requests/{request.pk}/reply/",
        {"token": make_status_token(request), "message": "My old address was 1 Main St."},
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "in_review"
    assert request.subject_replies.get().body == "My old address was 1 Main St."


def test_reply_when_not_awaiting_answers_409_and_stores_nothing(api, make_request):
    from dsar.verification.tokens import make_status_token

    request = make_request(status=Status.IN_REVIEW)
    answer = api.post(
        f"/api/v1/requests/{request.pk}/reply/",
        {"token": make_status_token(request), "message": "hello"},
        format="json",
    )
    assert answer.status_code == 409
    assert request.subject_replies.count() == 0


def test_correction_request_keeps_the_proposed_changes(api):
    corrections = [{"field": "name", "current_value": "Li Lie", "proposed_value": "Li Lei"}]
    body = file(api, type="correction", corrections=corrections).json()
    request = RightsRequest.objects.get(pk=body["id"])
    assert request.type == RequestType.CORRECTION
    stored = list(request.corrections.values_list("field", "current_value", "proposed_value"))
    assert stored == [("name", "Li Lie", "Li Lei")]


def test_already_verified_request_answers_409_on_verify(api, make_request):
    request = make_request(status=Status.IN_REVIEW)
    answer = api.post(f"/api/v1/requests/{request.pk}/verify/", {"code": "123456"}, format="json")
    assert answer.status_code == 409
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW


def test_public_payload_cannot_set_times_or_status(api):
    body = file(
        api,
        received_at="2020-01-01T00:00:00Z",
        verified_at="2020-01-01T00:00:00Z",
        status="in_review",
    ).json()
    request = RightsRequest.objects.get(pk=body["id"])
    assert request.status == Status.PENDING_VERIFICATION
    assert request.received_at.year != 2020 and request.verified_at is None
