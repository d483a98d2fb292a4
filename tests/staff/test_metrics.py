"""Dashboard figures count the time the SLA clock really ran (SPEC §4: waiting for the subject
does not count)."""

import datetime as dt

import pytest
import time_machine

from dsar.audit.models import ActorKind
from dsar.staff import metrics
from dsar.workflow.models import Outcome, Status
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.factories import RightsRequestFactory as Requests

VERIFIED = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing; due end of 17 March
NOMINAL_DUE = dt.datetime(2026, 3, 17, 16, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
STAFF, SUBJECT, SYSTEM = (ACTORS[k] for k in (ActorKind.STAFF, ActorKind.SUBJECT, ActorKind.SYSTEM))


def at(instant, request, to, actor, **kwargs):
    with time_machine.travel(instant, tick=False):
        transition(request, to=to, actor=actor, **kwargs)
    request.refresh_from_db()


@pytest.fixture
def verified(db):
    with time_machine.travel(VERIFIED, tick=False):
        return Requests.create(status=Status.IN_REVIEW)


@pytest.mark.django_db
def test_a_request_paused_for_days_and_closed_in_time_on_the_running_clock_is_met(verified):
    at(VERIFIED + DAY, verified, Status.AWAITING_SUBJECT, STAFF)
    at(VERIFIED + 11 * DAY, verified, Status.IN_REVIEW, SUBJECT)  # ten days paused
    closed = VERIFIED + 23 * DAY  # after the nominal deadline, 13 days on the running clock
    at(closed, verified, Status.PROCESSING, STAFF)
    at(closed, verified, Status.COMPLETED, SYSTEM, outcome=Outcome.FULL)
    assert verified.closed_at > NOMINAL_DUE

    week = metrics.weekly_compliance(now=closed)[-1]
    assert (week["met"], week["missed"], week["breaches"]) == (1, 0, 0)
    assert metrics.days_to_close() == {"count": 1, "median": 13.0, "p90": 13.0}
    [row] = metrics.yearly_table()
    assert row["median_days"] == 13.0


@pytest.mark.django_db
def test_a_request_paused_before_its_deadline_is_no_breach_while_it_waits(verified):
    at(VERIFIED + DAY, verified, Status.AWAITING_SUBJECT, STAFF)
    later = NOMINAL_DUE + 2 * DAY  # the nominal deadline passed while the clock stood still
    assert all(week["breaches"] == 0 for week in metrics.weekly_compliance(now=later))


@pytest.mark.django_db
def test_a_request_that_breached_before_it_was_paused_stays_a_breach(verified):
    at(NOMINAL_DUE + DAY, verified, Status.AWAITING_SUBJECT, STAFF)
    weeks = metrics.weekly_compliance(now=NOMINAL_DUE + 2 * DAY)
    assert sum(week["breaches"] for week in weeks) == 1


@pytest.mark.django_db
def test_a_request_closed_after_its_moved_deadline_is_missed(verified):
    at(VERIFIED + DAY, verified, Status.AWAITING_SUBJECT, STAFF)
    at(VERIFIED + 3 * DAY, verified, Status.IN_REVIEW, SUBJECT)  # deadline moves two days
    closed = NOMINAL_DUE + 2 * DAY + dt.timedelta(minutes=1)
    at(closed, verified, Status.PROCESSING, STAFF)
    at(closed, verified, Status.COMPLETED, SYSTEM, outcome=Outcome.FULL)
    week = metrics.weekly_compliance(now=closed)[-1]
    assert (week["met"], week["missed"]) == (0, 1)
