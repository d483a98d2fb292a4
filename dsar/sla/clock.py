"""The SLA clock as the rest of the product asks it: settings and calendar data applied.

Every part that needs a deadline calls this module; the arithmetic itself is in
:mod:`dsar.sla.deadlines`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from dsar.sla.calendars import WorkCalendar
from dsar.sla.deadlines import compute_due_at, end_of_day, last_day
from dsar.sla.models import CalendarOverride


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def current_calendar() -> WorkCalendar:
    """The official calendar with the staff's overrides applied (a small table, read whole)."""

    return WorkCalendar(dict(CalendarOverride.objects.values_list("date", "is_workday")))


def due_at_for(*, verified_at: dt.datetime) -> dt.datetime:
    """The deadline of a request verified at ``verified_at`` under the configured policy."""
    return compute_due_at(
        verified_at=verified_at,
        days=settings.DSAR_SLA_DAYS,
        mode=settings.DSAR_SLA_CALENDAR,
        calendar=current_calendar(),
        tz=local_tz(),
    )


def resumed_due_at(*, due_at: dt.datetime, paused_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The deadline after a pause from ``paused_at`` to ``now``: moved by the paused time."""
    return due_at + max(now - paused_at, dt.timedelta(0))


def warn_at(due_at: dt.datetime) -> dt.datetime:
    """When a request becomes "due soon"."""
    return due_at - dt.timedelta(days=settings.DSAR_SLA_WARN_DAYS)


def next_check_at(request, *, now: dt.datetime) -> dt.datetime | None:
    """The next instant the SLA sweep must look at ``request``: its next threshold.

    ``None`` when the clock is not running (unverified, paused or closed). The sweep selects
    only rows whose ``sla_next_check_at`` has passed, so its cost follows the requests that
    cross a threshold, not the open ones.
    """
    if request.due_at is None or request.paused_at is not None or not request.is_open:
        return None
    warning = warn_at(request.due_at)
    return warning if now < warning else request.due_at


def extended_due_at(*, due_at: dt.datetime, days: int) -> dt.datetime:
    """The deadline ``days`` more days after the current one, counted the configured way.

    The period restarts from the current last day (not counted), so the same rules apply: a
    last day on a rest day rolls to the next working day in ``calendar`` mode.
    """
    tz = local_tz()
    current_last = (due_at.astimezone(tz) - dt.timedelta(microseconds=1)).date()
    new_last = last_day(
        current_last, days=days, mode=settings.DSAR_SLA_CALENDAR, calendar=current_calendar()
    )
    return end_of_day(new_last, tz)
