"""No enumeration, and no personal data, codes or tokens in the logs of a full flow."""

import logging
from urllib.parse import quote

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import Status
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.usefixtures("fresh_limits")

VARYING = {"id", "reference", "status_token"}


def shape(answer) -> tuple:
    body = answer.json()
    return (
        answer.status_code,
        sorted(body),
        {k: v for k, v in body.items() if k not in VARYING},
        sorted(h for h in answer.headers if h.lower() not in {"content-length", "date"}),
    )


@pytest.mark.django_db
def test_create_answer_is_the_same_for_known_and_unknown_subjects(make_request):
    make_request(email="known@example.com", status=Status.IN_REVIEW)
    api = APIClient()
    known = api.post(
        "/api/v1/requests/", {"type": "access", "email": "known@example.com"}, format="json"
    )
    unknown = api.post(
        "/api/v1/requests/", {"type": "access", "email": "nobody@example.com"}, format="json"
    )
    assert shape(known) == shape(unknown)
    assert len(known.content) == len(unknown.content)
    sent = [
        sorted(OutboundEmail.objects.filter(request_id=a.json()["id"]).values_list("template"))
        for a in (known, unknown)
    ]
    assert sent[0] == sent[1] == [("code",), ("receipt",)]


@pytest.mark.django_db
def test_resend_answer_is_the_same_for_known_and_unknown_subjects(make_request):
    make_request(email="known@example.com", status=Status.IN_REVIEW)
    api = APIClient()
    ids = [
        api.post("/api/v1/requests/", {"type": "access", "email": e}, format="json").json()["id"]
        for e in ("known@example.com", "nobody@example.com")
    ]
    answers = [api.post(f"/api/v1/requests/{i}/resend/") for i in ids]
    assert shape(answers[0]) == shape(answers[1])


@pytest.mark.django_db(transaction=True)
@override_settings(DEBUG_PROPAGATE_EXCEPTIONS=False)
def test_full_flow_logs_no_address_phone_code_or_token(caplog, settings, tmp_path):
    settings.DSAR_SMS_DIR = str(tmp_path)
    caplog.set_level(logging.DEBUG)
    api = APIClient()
    secrets = []
    body = api.post(
        "/api/v1/requests/",
        {"type": "deletion", "email": "Secret.Person@example.com", "phone": "13912345678"},
        format="json",
    ).json()
    secrets += ["secret.person@example.com", "Secret.Person", "13912345678", body["status_token"]]
    first = code_from_outbox(body["id"])
    api.post(f"/api/v1/requests/{body['id']}/verify/", {"code": "000000"}, format="json")
    api.post(f"/api/v1/requests/{body['id']}/resend/")
    code = code_from_outbox(body["id"])
    secrets += [first, code]
    api.post(f"/api/v1/requests/{body['id']}/verify/", {"code": code}, format="json")
    api.get(f"/api/v1/requests/{body['id']}/", HTTP_X_STATUS_TOKEN=body["status_token"])
    api.get(f"/api/v1/requests/{body['id']}/", HTTP_X_STATUS_TOKEN=body["status_token"] + "x")
    api.post(f"/api/v1/requests/{body['id']}/withdraw/", {"token": body["status_token"]})
    api.post(f"/api/v1/requests/{body['id']}/withdraw/", {"token": body["status_token"]})
    assert caplog.records, "the flow should have logged something (e.g. 400/404/409 warnings)"
    # What the configured handlers write: the project's own format over every record.
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    logged = "\n".join(formatter.format(r) for r in caplog.records).lower()
    for secret in secrets:
        assert secret.lower() not in logged
        assert quote(secret, safe="").lower() not in logged
