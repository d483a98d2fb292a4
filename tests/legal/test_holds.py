"""Placing and lifting legal holds: only the legal role, always with a reason."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from dsar.audit.models import AuditEvent
from dsar.legal import holds
from dsar.legal.errors import LegalInputError
from dsar.legal.models import HoldKind, LegalHold
from dsar.workflow.models import RequestType
from tests.legal.support import findings_of

pytestmark = pytest.mark.django_db


def place(user, **overrides):
    fields = {
        "kind": HoldKind.REGULATOR_ORDER,
        "reason": "Regulator asked us to preserve records",
        "reference": "CAC-2025-0042",
        "email": "subject@example.com",
    }
    return holds.place_hold(user=user, **{**fields, **overrides})


def test_agent_cannot_place_a_hold(agent):
    with pytest.raises(PermissionDenied):
        place(agent)
    assert not LegalHold.objects.exists()


def test_agent_cannot_lift_a_hold(legal, agent):
    hold = place(legal)
    with pytest.raises(PermissionDenied):
        holds.lift_hold(hold=hold, user=agent, reason="No longer needed")
    hold.refresh_from_db()
    assert hold.lifted_at is None


def test_hold_matches_another_spelling_of_the_address(legal, verified):
    place(legal, email="Subject@Example.com ")
    request = verified(type=RequestType.DELETION, email="subject@example.com")
    assert len(findings_of(request, "legal_hold")) == 1


def test_hold_matches_the_subject_by_phone(legal, verified):
    place(legal, email="", phone="138 0013 8000")
    request = verified(type=RequestType.DELETION, email="a@example.com", phone="+8613800138000")
    assert len(findings_of(request, "legal_hold")) == 1


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("reason", {"reason": " "}),
        ("reference", {"reference": ""}),
        ("email", {"email": "", "phone": ""}),
        ("email", {"email": "not-an-address"}),
        ("kind", {"kind": "whim"}),
        ("ends_on", {"ends_on": dt.date(2000, 1, 1)}),
    ],
)
def test_hold_with_bad_input_is_refused_with_a_message(legal, field, overrides):
    with pytest.raises(LegalInputError) as error:
        place(legal, **overrides)
    assert field in error.value.message_dict
    assert not LegalHold.objects.exists()


def test_lifting_needs_a_reason(legal):
    hold = place(legal)
    with pytest.raises(LegalInputError):
        holds.lift_hold(hold=hold, user=legal, reason="")


def test_placing_a_hold_is_audited_without_personal_data(legal):
    hold = place(legal)
    event = AuditEvent.objects.get(action="legal.hold_placed")
    assert event.payload["hold_id"] == str(hold.pk)
    assert "subject@example.com" not in str(event.payload)


def test_hold_stores_only_the_encrypted_address_and_its_hash(legal):
    from django.db import connection

    hold = place(legal)
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM legal_legalhold WHERE id = %s", [hold.pk])
        [stored] = cursor.fetchone()
    assert "subject@example.com" not in stored
    assert hold.email_hash
