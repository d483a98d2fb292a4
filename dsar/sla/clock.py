"""The SLA clock as the rest of the product asks it: settings and calendar data applied.

Every part that needs a deadline calls this module; the arithmetic itself is in
:mod:`dsar.sla.deadlines`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from dsar.sla.calendars import WorkCalendar
from dsar.sla.deadlines import compute_due_at


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def current_calendar() -> WorkCalendar:
    return WorkCalendar()


def due_at_for(*, verified_at: dt.datetime) -> dt.datetime:
    """The deadline of a request verified at ``verified_at`` under the configured policy."""
    return compute_due_at(
        verified_at=verified_at,
        days=settings.DSAR_SLA_DAYS,
        mode=settings.DSAR_SLA_CALENDAR,
        calendar=current_calendar(),
        tz=local_tz(),
    )
