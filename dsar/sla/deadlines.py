"""Deadline arithmetic (SPEC §4). Pure functions: no database, no settings, no clock.

``calendar`` mode counts as the PRC Civil Code counts a period of days: the day the period
starts is not counted (Art. 201); the period ends at 24:00 local time of its last day; a last
day that is a statutory rest day moves to the next working day (Art. 203). ``cn_workdays``
mode counts working days on the official calendar instead, adjusted weekends included.

Instants are timezone-aware; the local date in ``tz`` decides which day something happened.
A deadline is returned as the instant the period ends: local midnight after its last day.

Time waiting for the subject does not count (SPEC §4). The paused time is summed exactly, but
a period counts in days (Art. 200–201), so the deadline moves by the *whole days* in that sum
and always stays the end of a local day: a pause shorter than a day moves nothing, and the
remainder carries over to the next pause.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dsar.sla.calendars import WorkCalendar

DAY = dt.timedelta(days=1)
CALENDAR = "calendar"
CN_WORKDAYS = "cn_workdays"
MODES = (CALENDAR, CN_WORKDAYS)


def end_of_day(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """24:00 local time of ``day``, as an aware instant in UTC."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return midnight.astimezone(dt.UTC)


def last_day(start: dt.date, *, days: int, mode: str, calendar: WorkCalendar) -> dt.date:
    """The last local day of a ``days``-long period that starts on ``start`` (not counted)."""
    if days < 1:
        raise ValueError("A period must be at least one day long.")
    if mode == CALENDAR:
        return calendar.next_workday(start + dt.timedelta(days=days))
    if mode == CN_WORKDAYS:
        day, counted = start, 0
        while counted < days:
            day += dt.timedelta(days=1)
            counted += calendar.is_workday(day)
        return day
    raise ValueError(f"Unknown SLA calendar mode {mode!r}; expected one of {MODES}.")


def compute_due_at(
    *,
    verified_at: dt.datetime,
    days: int,
    mode: str,
    calendar: WorkCalendar,
    tz: ZoneInfo,
) -> dt.datetime:
    """When the reply is due for a request whose identity was verified at ``verified_at``."""
    if verified_at.tzinfo is None:
        raise ValueError("verified_at must be timezone-aware.")
    start = verified_at.astimezone(tz).date()
    return end_of_day(last_day(start, days=days, mode=mode, calendar=calendar), tz)


def deadline_day(due_at: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The local last day of a deadline stored as the instant it ends (24:00 of that day)."""
    return (due_at.astimezone(tz) - dt.timedelta(microseconds=1)).date()


def ends_a_day(due_at: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether ``due_at`` is 24:00 of a local day, as every deadline this module makes is."""
    return due_at.astimezone(tz).time() == dt.time.min


def whole_days(paused: dt.timedelta) -> int:
    """The whole days in a paused time: what the deadline moves by."""
    return max(paused, dt.timedelta(0)) // DAY


def moved_due_at(
    due_at: dt.datetime, *, days: int, calendar: WorkCalendar, tz: ZoneInfo
) -> dt.datetime:
    """The deadline ``days`` calendar days later; a last day on a rest day rolls to the next
    working day (Art. 203). ``days == 0`` leaves the deadline exactly as it was."""
    if days <= 0:
        return due_at
    moved = calendar.next_workday(deadline_day(due_at, tz) + dt.timedelta(days=days))
    return end_of_day(moved, tz)


def days_left(due_at: dt.datetime, *, now: dt.datetime, tz: ZoneInfo) -> int:
    """Local days from today to the last day, both counted: 1 on the last day itself, 0 the
    day after it, negative later."""
    return (deadline_day(due_at, tz) - now.astimezone(tz).date()).days + 1


def running_time(
    *, verified_at: dt.datetime, closed_at: dt.datetime, paused: dt.timedelta
) -> dt.timedelta:
    """How long the clock really ran: verification to closure, without the paused time."""
    return max(closed_at - verified_at - paused, dt.timedelta(0))
