"""A client cannot move the SLA clock: ``received_at`` (and the other server times, the
status, the reference) come from the server whatever the payload or headers say (SPEC §4)."""

import datetime as dt
import uuid

import pytest
import time_machine

from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import VICTIM, file_request, verify
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
PAST = "2025-01-01T00:00:00Z"
FORGED = {
    "received_at": PAST,
    "verified_at": PAST,
    "due_at": PAST,
    "closed_at": PAST,
    "created_at": PAST,
    "status": "completed",
    "outcome": "full",
    "reference": "DSAR-2025-000001",
    "id": str(uuid.UUID(int=1)),
}


def test_client_supplied_received_at_is_ignored_at_intake(api):
    with time_machine.travel(NOW, tick=False):
        answer = file_request(api, type="deletion", HTTP_DATE="Wed, 01 Jan 2025 00:00:00 GMT",
                              **VICTIM, **FORGED)  # fmt: skip
    assert answer.status_code == 201
    request = RightsRequest.objects.get(pk=answer.json()["id"])
    assert request.received_at == NOW
    assert (request.verified_at, request.due_at, request.closed_at) == (None, None, None)
    assert request.status == Status.PENDING_VERIFICATION and request.outcome == ""
    assert request.reference.startswith("DSAR-2026-") and str(request.pk) != FORGED["id"]


def test_portal_form_with_a_received_at_field_is_ignored(client):
    with time_machine.travel(NOW, tick=False):
        answer = client.post("/request/access/", {"email": VICTIM["email"], **FORGED})
    assert answer.status_code == 302
    request = RightsRequest.objects.get()
    assert request.received_at == NOW and request.verified_at is None


def test_verify_payload_cannot_move_the_clock(api):
    with time_machine.travel(NOW, tick=False) as clock:
        filed = file_request(api, type="deletion", **VICTIM).json()
        clock.shift(dt.timedelta(minutes=10))
        answer = api.post(
            f"/api/v1/requests/{filed['id']}/verify/",
            {"code": code_from_outbox(filed["id"]), **FORGED},
            format="json",
        )
    assert answer.status_code == 200
    request = RightsRequest.objects.get(pk=filed["id"])
    assert request.received_at == NOW
    assert request.verified_at == NOW + dt.timedelta(minutes=10)
    assert request.due_at > request.verified_at + dt.timedelta(days=14)


def test_status_answer_shows_the_server_received_at(api):
    with time_machine.travel(NOW, tick=False):
        filed = file_request(api, type="access", **VICTIM, **FORGED).json()
        verify(api, filed["id"], code_from_outbox(filed["id"]))
    shown = api.get(
        f"/api/v1/requests/{filed['id']}/", HTTP_X_STATUS_TOKEN=filed["status_token"]
    ).json()
    assert dt.datetime.fromisoformat(shown["received_at"]) == NOW
