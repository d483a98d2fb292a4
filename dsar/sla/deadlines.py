"""Deadline arithmetic (SPEC §4). Pure functions: no database, no settings, no clock.

``calendar`` mode counts as the PRC Civil Code counts a period of days: the day the period
starts is not counted (Art. 201); the period ends at 24:00 local time of its last day; a last
day that is a statutory rest day moves to the next working day (Art. 203). ``cn_workdays``
mode counts working days on the official calendar instead, adjusted weekends included.

Instants are timezone-aware; the local date in ``tz`` decides which day something happened.
A deadline is returned as the instant the period ends: local midnight after its last day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dsar.sla.calendars import WorkCalendar

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
