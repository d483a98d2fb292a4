"""Status tokens: only the token made for a request opens it; anything else is a 404."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import RightsRequest, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def mine(make_request):
    return make_request(status=Status.AWAITING_SUBJECT)


@pytest.fixture
def other(make_request):
    return make_request(status=Status.AWAITING_SUBJECT)


def unchanged(request) -> bool:
    return RightsRequest.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT


def tampered(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


def test_another_requests_id_with_my_token_is_404_for_status(api, mine, other):
    answer = api.get(f"/api/v1/requests/{other.pk}/", HTTP_X_STATUS_TOKEN=make_status_token(mine))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_another_requests_id_with_my_token_cannot_withdraw(api, mine, other):
    events = AuditEvent.objects.count()
    answer = api.post(
        f"/api/v1/requests/{other.pk}/withdraw/", {"token": make_status_token(mine)}, format="json"
    )
    assert answer.status_code == 404
    assert unchanged(other) and AuditEvent.objects.count() == events


def test_another_requests_id_with_my_token_cannot_reply(api, mine, other):
    answer = api.post(
        f"/api/v1/requests/{other.pk}/reply/",
        {"token": make_status_token(mine), "message": "hi"},
        format="json",
    )
    assert answer.status_code == 404
    assert unchanged(other) and other.subject_replies.count() == 0


def test_tampered_token_is_404_and_changes_nothing(api, mine):
    answer = api.post(
        f"/api/v1/requests/{mine.pk}/withdraw/",
        {"token": tampered(make_status_token(mine))},
        format="json",
    )
    assert answer.status_code == 404
    assert unchanged(mine)


def test_expired_token_is_404(api, mine, settings):
    settings.DSAR_STATUS_TOKEN_MAX_AGE_DAYS = 30
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        token = make_status_token(mine)
    with time_machine.travel(dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tick=False):
        answer = api.post(f"/api/v1/requests/{mine.pk}/withdraw/", {"token": token}, format="json")
    assert answer.status_code == 404
    assert unchanged(mine)


def test_missing_token_is_404(api, mine):
    assert api.get(f"/api/v1/requests/{mine.pk}/").status_code == 404


def test_unknown_request_id_is_404(api, mine):
    answer = api.get(
        "/api/v1/requests/00000000-0000-4000-8000-000000000000/",
        HTTP_X_STATUS_TOKEN=make_status_token(mine),
    )
    assert answer.status_code == 404


def test_portal_cannot_be_opened_with_a_foreign_token(client, mine, other):
    answer = client.post(f"/requests/{other.pk}/open/", {"t": make_status_token(mine)})
    assert answer.status_code == 404
    assert client.get(f"/requests/{other.pk}/").templates[0].name == "portal/open.html"


def test_portal_cannot_be_opened_with_a_tampered_token(client, mine):
    answer = client.post(f"/requests/{mine.pk}/open/", {"t": tampered(make_status_token(mine))})
    assert answer.status_code == 404
    assert client.post(f"/requests/{mine.pk}/withdraw/", {"confirm": "on"}).status_code == 403
    assert unchanged(mine)


def test_token_in_the_address_is_refused_with_a_field_message(api, mine):
    answer = api.get(f"/api/v1/requests/{mine.pk}/", {"token": make_status_token(mine)})
    assert answer.status_code == 400
    assert "X-Status-Token header" in answer.json()["error"]["fields"]["token"][0]
