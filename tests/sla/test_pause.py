"""The clock stops while the request waits for the subject (SPEC §4), and the sweep follows it."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from dsar.audit.services import Actor
from dsar.sla import clock, services
from dsar.sla.selectors import SlaState, sla_state
from dsar.workflow.models import Status
from dsar.workflow.transitions import transition

VERIFIED = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # due end of 17 March (16:00 UTC)
WARN = dt.datetime(2026, 3, 14, 16, 0, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 3, 17, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def agent(staff_user):
    boss = staff_user("supervisor", "boss")
    boss.email = "boss@corp.example"
    boss.save()
    return staff_user("agent", "ana")


@pytest.fixture
def verified(make_request):
    with time_machine.travel(VERIFIED, tick=False):
        return make_request(status=Status.IN_REVIEW)


def pause_and_resume(request, agent, *, paused, resumed):
    with time_machine.travel(paused, tick=False):
        transition(request, to=Status.AWAITING_SUBJECT, actor=Actor.staff(agent))
    with time_machine.travel(resumed, tick=False):
        transition(request, to=Status.IN_REVIEW, actor=Actor.staff(agent))
    request.refresh_from_db()


@pytest.mark.django_db
def test_pause_then_resume_moves_the_deadline_by_the_whole_days_paused(verified, agent):
    paused = VERIFIED + dt.timedelta(days=1)
    resumed = paused + dt.timedelta(days=2, hours=5)
    pause_and_resume(verified, agent, paused=paused, resumed=resumed)
    assert verified.paused_total == dt.timedelta(days=2, hours=5)
    assert verified.due_at == DUE + dt.timedelta(days=2)  # end of Thu 19 March
    assert verified.paused_at is None
    assert verified.sla_next_check_at == clock.warn_at(verified.due_at)


@pytest.mark.django_db
def test_a_paused_request_is_paused_and_not_checked_past_its_nominal_deadline(verified, agent):
    with time_machine.travel(VERIFIED + dt.timedelta(days=1), tick=False):
        transition(verified, to=Status.AWAITING_SUBJECT, actor=Actor.staff(agent))
    verified.refresh_from_db()
    assert verified.sla_next_check_at is None
    assert sla_state(verified, now=DUE + dt.timedelta(days=5)) == SlaState.PAUSED


@pytest.mark.django_db(transaction=True)
def test_resuming_inside_the_warning_window_does_not_warn_again(verified, agent):
    assert services.sweep(now=WARN) == {"warning": 1, "breach": 0}
    hour = dt.timedelta(hours=1)
    pause_and_resume(verified, agent, paused=WARN + hour, resumed=WARN + 2 * hour)
    mail.outbox.clear()
    assert services.sweep(now=WARN + 3 * hour) == {"warning": 0, "breach": 0}
    assert mail.outbox == []
    assert services.sweep(now=verified.due_at) == {"warning": 0, "breach": 1}


@pytest.mark.django_db(transaction=True)
def test_a_breached_request_paused_and_resumed_is_not_escalated_again(verified, agent):
    assert services.sweep(now=DUE) == {"warning": 0, "breach": 1}
    hour = dt.timedelta(hours=1)
    pause_and_resume(verified, agent, paused=DUE + hour, resumed=DUE + 2 * hour)
    mail.outbox.clear()
    assert services.sweep(now=DUE + 3 * hour) == {"warning": 0, "breach": 0}
    assert mail.outbox == []


MINUTE = dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_a_one_minute_pause_leaves_the_deadline_where_it_was(verified, agent):
    paused = VERIFIED + dt.timedelta(days=3)
    pause_and_resume(verified, agent, paused=paused, resumed=paused + MINUTE)
    assert verified.paused_total == MINUTE
    assert verified.due_at == DUE


@pytest.mark.django_db
def test_a_one_minute_pause_across_midnight_leaves_the_deadline_where_it_was(verified, agent):
    midnight = dt.datetime(2026, 3, 5, 16, 0, tzinfo=dt.UTC)  # 00:00 on 6 March, Beijing
    pause_and_resume(verified, agent, paused=midnight - MINUTE / 2, resumed=midnight + MINUTE / 2)
    assert verified.due_at == DUE


@pytest.mark.django_db
def test_short_pauses_add_up_and_move_the_deadline_once_they_make_a_day(verified, agent):
    first = VERIFIED + dt.timedelta(days=1)
    pause_and_resume(verified, agent, paused=first, resumed=first + dt.timedelta(hours=13))
    assert verified.due_at == DUE
    second = VERIFIED + dt.timedelta(days=4)
    pause_and_resume(verified, agent, paused=second, resumed=second + dt.timedelta(hours=13))
    assert verified.paused_total == dt.timedelta(hours=26)
    assert verified.due_at == DUE + dt.timedelta(days=1)


@pytest.mark.django_db
def test_a_pause_that_moves_the_last_day_onto_a_weekend_rolls_it_to_monday(verified, agent):
    paused = VERIFIED + dt.timedelta(days=1)
    pause_and_resume(verified, agent, paused=paused, resumed=paused + dt.timedelta(days=3))
    # Tue 17 March + 3 days = Fri 20 March, a working day; + 4 would be Sat 21 → Mon 23.
    assert verified.due_at == DUE + dt.timedelta(days=3)
    again = VERIFIED + dt.timedelta(days=6)
    pause_and_resume(verified, agent, paused=again, resumed=again + dt.timedelta(days=1))
    assert verified.due_at == dt.datetime(2026, 3, 23, 16, 0, tzinfo=dt.UTC)
