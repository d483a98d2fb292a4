"""Bad input: a clear 400 (413 for large uploads, 429 for limits) and nothing written."""

import io

import pytest
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.notifications.models import OutboundEmail
from dsar.verification.models import Evidence
from dsar.verification.tokens import make_status_token
from dsar.workflow import identity
from dsar.workflow.models import RightsRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def api():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def nothing_written():
    counts = lambda: (  # noqa: E731
        RightsRequest.objects.count(),
        AuditEvent.objects.count(),
        OutboundEmail.objects.count(),
        Evidence.objects.count(),
    )
    before = counts()
    yield
    assert counts() == before


def create(api, body):
    return api.post("/api/v1/requests/", body, format="json")


def fields_of(answer) -> dict:
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    return error["fields"]


@pytest.mark.usefixtures("nothing_written")
def test_missing_type(api):
    assert "type" in fields_of(create(api, {"email": "a@example.com"}))


@pytest.mark.usefixtures("nothing_written")
def test_unknown_type(api):
    assert "type" in fields_of(create(api, {"type": "everything", "email": "a@example.com"}))


@pytest.mark.usefixtures("nothing_written")
def test_bad_email(api):
    fields = fields_of(create(api, {"type": "access", "email": "not-an-address"}))
    assert fields["email"] == [str(identity.BAD_EMAIL)]


@pytest.mark.usefixtures("nothing_written")
def test_field_messages_follow_the_accept_language(api):
    answer = api.post(
        "/api/v1/requests/",
        {"type": "access", "email": "not-an-address"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "邮件地址" in fields_of(answer)["email"][0]


@pytest.mark.usefixtures("nothing_written")
def test_no_contact_at_all(api):
    assert "email" in fields_of(create(api, {"type": "access"}))


@pytest.mark.usefixtures("nothing_written")
def test_phone_outside_mainland_china(api):
    fields = fields_of(create(api, {"type": "access", "phone": "+1 202 555 0143"}))
    assert fields["phone"] == ["Enter a mainland China mobile number (+86)."]


@pytest.mark.usefixtures("nothing_written")
def test_landline_is_not_a_mobile(api):
    assert "phone" in fields_of(create(api, {"type": "access", "phone": "010 6552 9988"}))


@pytest.mark.usefixtures("nothing_written")
def test_oversized_description(api):
    body = {"type": "access", "email": "a@example.com", "description": "x" * 5001}
    assert "description" in fields_of(create(api, body))


@pytest.mark.usefixtures("nothing_written")
def test_oversized_name(api):
    body = {"type": "access", "email": "a@example.com", "full_name": "x" * 201}
    assert "full_name" in fields_of(create(api, body))


@pytest.mark.usefixtures("nothing_written")
def test_a_thousand_corrections(api):
    corrections = [{"field": "name", "proposed_value": "Li"}] * 1000
    body = {"type": "correction", "email": "a@example.com", "corrections": corrections}
    assert "corrections" in fields_of(create(api, body))


@pytest.mark.usefixtures("nothing_written")
def test_correction_without_corrections(api):
    body = {"type": "correction", "email": "a@example.com"}
    assert "corrections" in fields_of(create(api, body))


@pytest.mark.usefixtures("nothing_written")
def test_corrections_on_a_deletion(api):
    body = {
        "type": "deletion",
        "email": "a@example.com",
        "corrections": [{"field": "name", "proposed_value": "Li"}],
    }
    assert "corrections" in fields_of(create(api, body))


@pytest.mark.usefixtures("nothing_written")
def test_body_that_is_not_json(api):
    answer = api.post("/api/v1/requests/", "{not json", content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "parse_error"


def test_verify_without_a_code(api, make_request):
    request = make_request()
    before = AuditEvent.objects.count()
    assert "code" in fields_of(api.post(f"/api/v1/requests/{request.pk}/verify/", {}))
    assert AuditEvent.objects.count() == before


def upload(api, request, content: bytes, name="id.png"):
    file = io.BytesIO(content)
    file.name = name
    return api.post(
        f"/api/v1/requests/{request.pk}/evidence/",
        {"token": make_status_token(request), "file": file},
        format="multipart",
    )


def test_upload_of_the_wrong_type_is_400(api, make_request):
    request = make_request()
    answer = upload(api, request, b"MZ\x90\x00 pretending to be a picture", name="id.png")
    assert fields_of(answer)["file"] == ["Upload a JPEG or PNG image or a PDF document."]
    assert Evidence.objects.count() == 0


def test_oversized_upload_is_413(api, make_request, settings):
    settings.DSAR_EVIDENCE_MAX_BYTES = 1024
    request = make_request()
    answer = upload(api, request, PNG + b"\x00" * 2000)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert Evidence.objects.count() == 0


def test_upload_of_a_png_is_accepted(api, make_request):
    request = make_request()
    answer = upload(api, request, PNG)
    assert answer.status_code == 201
    assert answer.json()["content_type"] == "image/png"


def test_intake_limit_per_ip_answers_429_and_writes_nothing(api, settings):
    settings.DSAR_INTAKE_RATE_IP = "2/hour"
    for n in range(2):
        assert create(api, {"type": "access", "email": f"s{n}@example.com"}).status_code == 201
    before = RightsRequest.objects.count()
    answer = create(api, {"type": "access", "email": "s9@example.com"})
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert RightsRequest.objects.count() == before


def test_message_limit_per_address_folds_case_and_full_width(api, settings):
    settings.DSAR_CODE_RATE_ADDRESS = "1/hour"
    first = create(api, {"type": "access", "email": "Wang@Example.com"})
    assert first.status_code == 201 and first.json()["code_sent"] is True
    answer = create(api, {"type": "deletion", "email": " ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ "})
    assert answer.status_code == 201 and answer.json()["code_sent"] is False
    assert RightsRequest.objects.count() == 2
    assert {r.email for r in RightsRequest.objects.all()} == {"wang@example.com"}
