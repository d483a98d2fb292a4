"""The data migration that fills ``paused_total`` for requests paused before it was kept."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps

from dsar.audit.models import ActorKind
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.factories import RightsRequestFactory as Requests

migration = importlib.import_module("dsar.workflow.migrations.0006_paused_total")
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
A, R = "awaiting_subject", "in_review"


def test_each_pause_runs_from_entering_awaiting_subject_to_leaving_it():
    events = [
        ("a", "pending_verification", R, T0),
        ("a", R, A, T0 + H),
        ("b", R, A, T0 + H),
        ("a", A, R, T0 + 3 * H),
        ("a", R, A, T0 + 10 * H),
        ("a", A, "withdrawn", T0 + 15 * H),
        ("b", A, R, T0 + 2 * H),
    ]
    assert migration.paused_totals(events) == {"a": 7 * H, "b": H}


def test_a_pause_under_way_is_left_to_paused_at():
    assert migration.paused_totals([("a", R, A, T0)]) == {}


@pytest.mark.django_db
def test_the_totals_come_from_the_audit_trail():
    staff, subject = ACTORS[ActorKind.STAFF], ACTORS[ActorKind.SUBJECT]
    with time_machine.travel(T0, tick=False) as clock:
        request = Requests.create(status=Status.IN_REVIEW)
        untouched = Requests.create(status=Status.IN_REVIEW)
        for hours in (5, 30):
            transition(request, to=Status.AWAITING_SUBJECT, actor=staff)
            clock.shift(dt.timedelta(hours=hours))
            transition(request, to=Status.IN_REVIEW, actor=subject)
            clock.shift(H)
    RightsRequest.objects.update(paused_total=dt.timedelta(0))  # as before the field existed
    migration.fill_from_audit(apps, None)
    assert RightsRequest.objects.get(pk=request.pk).paused_total == 35 * H
    assert RightsRequest.objects.get(pk=untouched.pk).paused_total == dt.timedelta(0)
