"""Record retention: old closed requests lose everything that identifies the subject, keep
what statistics need, and the audit chain still verifies."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from dsar.audit.services import Actor
from dsar.notifications.models import OutboundEmail
from dsar.staff import metrics
from dsar.staff import services as staff_services
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.retention import anonymise_expired
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition

pytestmark = pytest.mark.django_db(transaction=True)
LONG_AGO = dt.datetime(2022, 3, 2, 2, 0, tzinfo=dt.UTC)


def closed_request(staff_user, email, at):
    with time_machine.travel(at, tick=False):
        request = create_request(
            type="deletion", email=email, phone="13800138000", full_name="李雷",
            account_id="acct-1", description="请删除",
        )  # fmt: skip
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        agent = staff_user("agent", f"agent-{email[:3]}")
        staff_services.add_note(request=request, user=agent, body=f"called {email}")
        staff_services.message_subject(request=request, user=agent, body="Which account?")
        transition(request, to=Status.WITHDRAWN, actor=Actor.subject())
    return request


def test_old_closed_requests_are_anonymised_and_stats_and_chain_survive(staff_user):
    old = closed_request(staff_user, "old.subject@example.com", LONG_AGO)
    recent = closed_request(staff_user, "new.subject@example.com", dt.datetime.now(dt.UTC))
    before = metrics.yearly_table()

    assert anonymise_expired() == 1
    assert anonymise_expired() == 0  # once only

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email, phone, full_name, account_id, description, email_hash, phone_hash "
            "FROM workflow_rightsrequest WHERE id = %s",
            [old.pk],
        )
        assert cursor.fetchone() == ("", "", "", "", "", "", "")
    old.refresh_from_db()
    assert (old.status, old.type, old.anonymised_at is not None) == (
        Status.WITHDRAWN, "deletion", True,
    )  # fmt: skip
    assert not old.notes.exists() and not old.staff_messages.exists()
    assert not OutboundEmail.objects.filter(request_id=old.pk).exists()

    recent = RightsRequest.objects.get(pk=recent.pk)
    assert recent.email == "new.subject@example.com" and recent.notes.exists()
    assert metrics.yearly_table() == before  # statistics are unchanged
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()
