"""Deadline arithmetic across the 2026 PRC calendar (SPEC §4).

Expected dates were worked out by hand from the State Council's 2026 holiday notice:
Spring Festival 15–23 Feb (working Sat 14 and Sat 28 Feb), Labour Day 1–5 May (working
Sat 9 May), Mid-Autumn 25–27 Sep (working Sun 20 Sep), National Day 1–7 Oct (working
Sat 10 Oct). A deadline is the end (24:00 Beijing time) of its last day, i.e. 16:00 UTC.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dsar.sla import deadlines
from dsar.sla.calendars import WorkCalendar
from dsar.sla.deadlines import compute_due_at, last_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def local(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def end_of(y, m, d):
    """24:00 Beijing time of that date, in UTC."""
    return dt.datetime(y, m, d, 16, 0, tzinfo=UTC)


CALENDAR_CASES = [
    # (why, verified at (local), due at)
    ("plain weekday, no holiday", local(2026, 3, 2), end_of(2026, 3, 17)),
    ("day 15 is a Saturday: rolls to Monday", local(2026, 3, 6), end_of(2026, 3, 23)),
    ("day 15 in Spring Festival: rolls past it", local(2026, 2, 1), end_of(2026, 2, 24)),
    ("day 15 is the adjusted working Sat 14 Feb", local(2026, 1, 30), end_of(2026, 2, 14)),
    ("day 15 on Labour Day: rolls to 6 May", local(2026, 4, 16), end_of(2026, 5, 6)),
    ("day 15 on Mid-Autumn Fri: rolls over weekend", local(2026, 9, 10), end_of(2026, 9, 28)),
    ("day 15 is the adjusted working Sun 20 Sep", local(2026, 9, 5), end_of(2026, 9, 20)),
    ("day 15 in National Day week: rolls to 8 Oct", local(2026, 9, 17), end_of(2026, 10, 8)),
    ("day 15 is the adjusted working Sat 10 Oct", local(2026, 9, 25), end_of(2026, 10, 10)),
    ("late evening local counts as that local day", local(2026, 3, 2, 23, 59), end_of(2026, 3, 17)),
    ("just after midnight local is the next day", local(2026, 3, 3, 0, 1), end_of(2026, 3, 18)),
]


@pytest.mark.parametrize(("why", "verified_at", "due_at"), CALENDAR_CASES)
def test_calendar_mode(why, verified_at, due_at):
    got = compute_due_at(
        verified_at=verified_at, days=15, mode="calendar", calendar=WorkCalendar(), tz=SHANGHAI
    )
    assert got == due_at, why


def test_utc_date_does_not_decide():
    # Both instants are on 2 March in UTC, but on different local days.
    late = local(2026, 3, 2, 23, 59).astimezone(UTC)
    early = local(2026, 3, 3, 0, 1).astimezone(UTC)
    assert late.date() == early.date()
    cal = WorkCalendar()
    due = [
        compute_due_at(verified_at=t, days=15, mode="calendar", calendar=cal, tz=SHANGHAI)
        for t in (late, early)
    ]
    assert due == [end_of(2026, 3, 17), end_of(2026, 3, 18)]


WORKDAY_CASES = [
    (
        "across Spring Festival, both working Saturdays count",
        local(2026, 2, 10),
        end_of(2026, 3, 9),
    ),
    ("across National Day, working Sat 10 Oct counts", local(2026, 9, 28), end_of(2026, 10, 23)),
    ("plain weeks: 15 working days is 3 weeks", local(2026, 3, 2), end_of(2026, 3, 23)),
]


@pytest.mark.parametrize(("why", "verified_at", "due_at"), WORKDAY_CASES)
def test_cn_workdays_mode(why, verified_at, due_at):
    got = compute_due_at(
        verified_at=verified_at, days=15, mode="cn_workdays", calendar=WorkCalendar(), tz=SHANGHAI
    )
    assert got == due_at, why


def test_year_without_data_falls_back_to_weekends_and_is_reported():
    cal = WorkCalendar()
    assert cal.uncovered_years([2026, 2027]) == [2027]
    # Day 15 is Sat 2 Jan 2027: weekends-only fallback rolls to Monday 4 Jan.
    due = compute_due_at(
        verified_at=local(2026, 12, 18), days=15, mode="calendar", calendar=cal, tz=SHANGHAI
    )
    assert due == end_of(2027, 1, 4)
    # Day 15 is Fri 1 Jan 2027: without data it is a working day.
    due = compute_due_at(
        verified_at=local(2026, 12, 17), days=15, mode="calendar", calendar=cal, tz=SHANGHAI
    )
    assert due == end_of(2027, 1, 1)


def test_overrides_win_and_cover_the_year():
    cal = WorkCalendar({dt.date(2027, 1, 1): False, dt.date(2026, 3, 21): True})
    assert cal.uncovered_years([2027]) == []
    due = compute_due_at(
        verified_at=local(2026, 12, 17), days=15, mode="calendar", calendar=cal, tz=SHANGHAI
    )
    assert due == end_of(2027, 1, 4)  # holiday added, then the weekend
    # An added working day on a Saturday stops the weekend roll.
    due = compute_due_at(
        verified_at=local(2026, 3, 6), days=15, mode="calendar", calendar=cal, tz=SHANGHAI
    )
    assert due == end_of(2026, 3, 21)


@pytest.mark.parametrize("bad", [0, -3])
def test_period_must_be_positive(bad):
    with pytest.raises(ValueError, match="at least one day"):
        last_day(dt.date(2026, 3, 2), days=bad, mode="calendar", calendar=WorkCalendar())


def test_unknown_mode_and_naive_time_are_refused():
    with pytest.raises(ValueError, match="Unknown SLA calendar mode"):
        last_day(dt.date(2026, 3, 2), days=15, mode="lunar", calendar=WorkCalendar())
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due_at(
            verified_at=dt.datetime(2026, 3, 2, 10),
            days=15,
            mode="calendar",
            calendar=WorkCalendar(),
            tz=SHANGHAI,
        )


@pytest.mark.parametrize(
    "due_at, day",
    [
        (end_of(2026, 12, 17), dt.date(2026, 12, 17)),  # 00:00 on 18 Dec is 24:00 on 17 Dec
        (end_of(2026, 12, 17) + dt.timedelta(minutes=1), dt.date(2026, 12, 18)),
        (end_of(2026, 12, 17) - dt.timedelta(minutes=1), dt.date(2026, 12, 17)),
    ],
)
def test_the_last_day_of_a_deadline(due_at, day):
    assert deadlines.deadline_day(due_at, SHANGHAI) == day


def test_only_local_midnight_ends_a_day():
    assert deadlines.ends_a_day(end_of(2026, 12, 17), SHANGHAI)
    assert not deadlines.ends_a_day(end_of(2026, 12, 17) + dt.timedelta(minutes=1), SHANGHAI)
    assert not deadlines.ends_a_day(dt.datetime(2026, 12, 18, 0, tzinfo=UTC), SHANGHAI)


@pytest.mark.parametrize(
    "paused, days",
    [
        (dt.timedelta(minutes=1), 0),
        (dt.timedelta(hours=23, minutes=59, seconds=59), 0),
        (dt.timedelta(days=1), 1),
        (dt.timedelta(days=2, hours=23), 2),
        (dt.timedelta(seconds=-5), 0),  # a clock that went backwards moves nothing
    ],
)
def test_paused_time_counts_in_whole_days(paused, days):
    assert deadlines.whole_days(paused) == days


@pytest.mark.parametrize(
    "why, due_at, days, moved",
    [
        ("no whole day: unchanged", end_of(2026, 3, 17), 0, end_of(2026, 3, 17)),
        ("a working day", end_of(2026, 3, 17), 3, end_of(2026, 3, 20)),
        ("onto Saturday: Monday", end_of(2026, 3, 17), 4, end_of(2026, 3, 23)),
        ("onto National Day: 8 Oct", end_of(2026, 9, 29), 2, end_of(2026, 10, 8)),
        ("onto the working Sat 10 Oct", end_of(2026, 10, 9), 1, end_of(2026, 10, 10)),
        ("a deadline at 00:01 (old exact pause)", end_of(2026, 3, 17) + dt.timedelta(minutes=1),
         1, end_of(2026, 3, 19)),
    ],
)  # fmt: skip
def test_a_pause_moves_the_last_day_and_rolls_off_rest_days(why, due_at, days, moved):
    assert (
        deadlines.moved_due_at(due_at, days=days, calendar=WorkCalendar(), tz=SHANGHAI) == moved
    ), why


@pytest.mark.parametrize(
    "now, left",
    [
        (local(2026, 3, 2), 16),
        (local(2026, 3, 14, 23, 59), 4),
        (local(2026, 3, 15, 0, 0), 3),  # the warning window starts: three days left
        (local(2026, 3, 17, 0, 0), 1),
        (local(2026, 3, 17, 23, 59), 1),  # the last day itself
        (local(2026, 3, 18, 0, 0), 0),  # passed
        (local(2026, 3, 20, 9, 0), -2),
    ],
)
def test_days_left_count_today_and_the_last_day(now, left):
    assert deadlines.days_left(end_of(2026, 3, 17), now=now, tz=SHANGHAI) == left


def test_the_running_time_leaves_out_the_pauses():
    ran = deadlines.running_time(
        verified_at=local(2026, 3, 2), closed_at=local(2026, 3, 25), paused=dt.timedelta(days=10)
    )
    assert ran == dt.timedelta(days=13)
