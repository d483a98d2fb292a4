"""An intake that writes only the request and its event does so in one statement, committed
on its own (no BEGIN/COMMIT), as production runs it: no test transaction around it here. The
row and the event are those the transaction wrote, and the trail still verifies."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.audit.sequencer import sequence_events
from dsar.audit.services import Actor, Event, insert_with_events
from dsar.audit.verification import check_trail
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_limits")]


def test_a_plain_intake_is_one_statement_after_its_reference():
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    # The first warms the per-process copies (response policies) as a running server has.
    api.post("/api/v1/requests/", {"type": "access", "email": "warm@example.com"}, format="json")
    body = {"type": "deletion", "email": "Li.Lei@Example.com", "full_name": " 李雷 "}
    with CaptureQueriesContext(connection) as captured:
        answer = api.post("/api/v1/requests/", body, format="json")
    assert answer.status_code == 201
    statements = [q["sql"] for q in captured.captured_queries]
    # Up to the intake's insert; the receipt task (eager here) runs after the answer.
    written = next(i for i, sql in enumerate(statements) if 'INTO "audit_auditevent"' in sql)
    assert len(statements[: written + 1]) == 2, statements
    reference, insert = statements[: written + 1]
    assert "workflow_next_reference" in reference
    assert insert.startswith('WITH inserted AS (INSERT INTO "workflow_rightsrequest"')
    request = RightsRequest.objects.get(pk=answer.json()["id"])
    assert (request.email, request.full_name, request.status) == (
        "li.lei@example.com",
        "李雷",
        Status.PENDING_VERIFICATION,
    )
    assert request.updated_at is not None
    assert not request.receipt_pending  # its receipt went out after the answer (eager here)
    assert request.reference == answer.json()["reference"]
    event = AuditEvent.objects.get(request_id=request.pk, action="request.created")
    assert (event.actor_kind, event.to_status) == ("subject", Status.PENDING_VERIFICATION)
    assert event.payload == {
        "reference": request.reference,
        "type": "deletion",
        "jurisdiction": request.jurisdiction,
    }
    sequence_events()
    report = check_trail()
    assert report.intact and report.awaiting == 0 and report.sequenced >= 2


def test_it_writes_what_the_transaction_writes():
    """The same request filed outside and inside a transaction: the same columns."""
    apart = create_request(type="access", email="a@example.com", full_name="A", jurisdiction="CN")
    with transaction.atomic():
        joined = create_request(
            type="access", email="a@example.com", full_name="A", jurisdiction="CN"
        )
    skip = {"id", "reference", "received_at", "updated_at"}
    columns = [f.attname for f in RightsRequest._meta.concrete_fields if f.attname not in skip]
    first, second = (RightsRequest.objects.values(*columns).get(pk=r.pk) for r in (apart, joined))
    assert first == second
    events = {
        r.pk: AuditEvent.objects.values("action", "actor_kind", "to_status", "payload").get(
            request_id=r.pk
        )
        for r in (apart, joined)
    }
    assert events[apart.pk]["payload"].pop("reference") == apart.reference
    assert events[joined.pk]["payload"].pop("reference") == joined.reference
    assert events[apart.pk] == events[joined.pk]
    assert not apart._state.adding and apart._state.db == "default"


def test_a_failed_insert_writes_neither_the_row_nor_its_events():
    first = create_request(type="access", email="a@example.com")
    again = RightsRequest(reference=first.reference, type="access", received_at=first.received_at)
    event = Event(action="request.created", actor=Actor.subject(), request_id=again.pk)
    with pytest.raises(IntegrityError):  # the reference is taken
        insert_with_events(again, [event])
    assert not RightsRequest.objects.filter(pk=again.pk).exists()
    assert not AuditEvent.objects.filter(request_id=again.pk).exists()
