"""The admin for holds and retention rules goes through the services and their roles."""

import pytest

from dsar.audit.models import AuditEvent
from dsar.legal.models import LegalHold, RetentionRule

pytestmark = pytest.mark.django_db
ADD_HOLD = "/admin/legal/legalhold/add/"


def login(client, user):
    user.is_staff = True  # the admin site's own gate; roles decide the rest
    user.save()
    client.force_login(user)


def hold_form(**overrides):
    return {
        "email": "subject@example.com",
        "phone": "",
        "kind": "litigation",
        "reason": "Pending lawsuit",
        "reference": "CASE-1",
        "ends_on": "",
        **overrides,
    }


def test_legal_places_a_hold_in_the_admin(client, legal):
    login(client, legal)
    response = client.post(ADD_HOLD, hold_form())
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.created_by, hold.reference) == (legal, "CASE-1")
    assert AuditEvent.objects.filter(action="legal.hold_placed").exists()


def test_agent_cannot_place_a_hold_in_the_admin(client, agent):
    login(client, agent)
    assert client.post(ADD_HOLD, hold_form()).status_code == 403
    assert not LegalHold.objects.exists()


def test_admin_shows_the_services_message_for_a_bad_address(client, legal):
    login(client, legal)
    response = client.post(ADD_HOLD, hold_form(email="nobody"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not LegalHold.objects.exists()


def test_legal_lifts_a_hold_in_the_admin_with_a_reason(client, legal):
    login(client, legal)
    client.post(ADD_HOLD, hold_form())
    hold = LegalHold.objects.get()
    response = client.post(f"/admin/legal/legalhold/{hold.pk}/change/", {"lift_reason": "Settled"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert (hold.lifted_by, hold.lift_reason) == (legal, "Settled")


def test_retention_rule_edits_are_audited(client, legal):
    login(client, legal)
    rule = RetentionRule.objects.get(category="ride_hailing_records")
    response = client.post(
        f"/admin/legal/retentionrule/{rule.pk}/change/",
        {
            "category": rule.category,
            "name": rule.name,
            "legal_basis": rule.legal_basis,
            "period_months": 30,
            "start_event": rule.start_event,
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.period_months, rule.active) == (30, False)
    event = AuditEvent.objects.get(action="legal.retention_rule_changed")
    assert event.payload == {
        "category": "ride_hailing_records",
        "changed": ["active", "period_months"],
    }
