"""An intake's receipt and first code are written and sent by the messages worker, once the
answer is out (issue 21 item 4): intake stores the request with ``receipt_pending``; the
worker's ``send_receipt`` writes both messages and the challenge in one transaction, once.
The path through a real broker and worker: ``tests/notifications/test_messages_queue.py``;
with the broker down and its re-drive: ``tests/api/test_outages.py``."""

import pytest

from dsar.audit.models import AuditEvent
from dsar.notifications.models import OutboundEmail
from dsar.portal.services import AgentClaim, FiledAs, file_request, withdraw_request
from dsar.verification.models import Challenge
from dsar.verification.receipts import redrive_receipts, send_receipt
from dsar.verification.services import resend_code
from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import code_from_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]


def filed(**extra) -> RightsRequest:
    return file_request(type="deletion", email="li.lei@example.com", ip="192.0.2.1", **extra)


def messages(request) -> list[str]:
    rows = OutboundEmail.objects.filter(request_id=request.pk).order_by("created_at")
    return [m.template for m in rows]


def test_intake_leaves_the_receipt_and_code_to_the_worker():
    request = filed()
    assert request.code_sent
    assert RightsRequest.objects.get(pk=request.pk).receipt_pending
    assert messages(request) == []
    assert not Challenge.objects.filter(request=request).exists()
    events = AuditEvent.objects.filter(request_id=request.pk)
    assert list(events.values_list("action", flat=True)) == ["request.created"]


def test_the_worker_sends_them_once():
    request = filed()
    assert send_receipt(request.pk) is True
    assert sorted(messages(request)) == ["code", "receipt"]
    assert Challenge.objects.filter(request=request).count() == 1
    sent = AuditEvent.objects.filter(request_id=request.pk, action="verification.sent")
    assert sent.count() == 1
    assert not RightsRequest.objects.get(pk=request.pk).receipt_pending

    assert send_receipt(request.pk) is False  # a second message, or the re-drive meeting it
    assert len(messages(request)) == 2
    assert Challenge.objects.filter(request=request).count() == 1
    assert sent.count() == 1


def test_the_code_the_worker_sends_verifies_the_request(client):
    request = filed()
    code = code_from_outbox(request.pk)  # the worker's job, then the subject's email
    answer = client.post(
        f"/api/v1/requests/{request.pk}/verify/", {"code": code}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert RightsRequest.objects.get(pk=request.pk).verified_at is not None


def test_a_request_withdrawn_before_its_receipt_gets_none():
    request = filed()
    withdraw_request(request=RightsRequest.objects.get(pk=request.pk))
    assert send_receipt(request.pk) is False
    assert "code" not in messages(request) and "receipt" not in messages(request)
    assert RightsRequest.objects.get(pk=request.pk).status == Status.WITHDRAWN
    assert not RightsRequest.objects.get(pk=request.pk).receipt_pending


def test_a_held_back_request_waits_for_no_receipt(settings):
    settings.DSAR_CODE_RATE_ADDRESS = "1/hour"
    filed()  # spends the address's one message
    second = filed()
    assert second.code_sent is False
    assert not RightsRequest.objects.get(pk=second.pk).receipt_pending
    assert AuditEvent.objects.filter(request_id=second.pk, action="verification.held_back").exists()
    assert send_receipt(second.pk) is False
    assert messages(second) == []


def test_a_code_resent_before_the_receipt_is_superseded_by_it():
    request = filed()
    resend_code(request=RightsRequest.objects.get(pk=request.pk), ip="192.0.2.1")
    send_receipt(request.pk)
    open_codes = Challenge.objects.filter(
        request=request, used_at__isnull=True, superseded_at__isnull=True
    )
    assert open_codes.count() == 1
    assert open_codes.get().pk == Challenge.objects.filter(request=request).latest("created_at").pk


def test_an_agents_notice_is_written_at_intake_and_the_code_by_the_worker():
    request = filed(
        filed_as=FiledAs.AGENT,
        agent=AgentClaim(name="Wang Fang", authority="power_of_attorney"),
        full_name="Li Lei",
    )
    assert messages(request) == ["agent_confirm"]
    send_receipt(request.pk)
    assert sorted(messages(request)) == ["agent_confirm", "code", "receipt"]


def test_the_redrive_sends_every_receipt_whose_publish_was_lost():
    # These requests' transactions never commit here, so nothing was published for them.
    first, second = filed(), file_request(type="access", email="han@example.com", ip="192.0.2.2")
    assert redrive_receipts() == 2
    assert sorted(messages(first)) == sorted(messages(second)) == ["code", "receipt"]
    assert redrive_receipts() == 0
