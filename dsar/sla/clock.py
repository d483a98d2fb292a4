"""The SLA clock as the rest of the product asks it: settings and calendar data applied.

Every part that needs a deadline, its last day, the days left, the warning window, whether a
closed request met it, how long the clock ran, or the deadline written out for people calls
this module; the arithmetic itself is in :mod:`dsar.sla.deadlines`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Q
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from dsar.sla import deadlines, policies
from dsar.sla.calendars import WeekdayCalendar, WorkCalendar, us_business_calendar
from dsar.sla.models import CalendarOverride, CountingRule, Jurisdiction, StartEvent, Unit
from dsar.snapshots import Snapshot


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# Every verification counts a deadline on it: one round trip to the cache instead of a
# query while the table is unchanged (``dsar.snapshots``).
OVERRIDES = Snapshot(
    "calendar-overrides",
    lambda: dict(CalendarOverride.objects.values_list("date", "is_workday")),
    models=(CalendarOverride,),
)


def current_calendar() -> WorkCalendar:
    """The official calendar with the staff's overrides applied (a small table, read whole)."""

    return WorkCalendar(dict(OVERRIDES.get()))


def calendar_for(rule: str, *, around: dt.date) -> deadlines.DayCalendar:
    """The working days a counting rule counts on: the PRC calendar with the staff's
    overrides, weekdays (Reg. 1182/71), or weekdays without US national holidays (CCPA), the
    latter for the years a period starting ``around`` can reach."""
    if rule == deadlines.PRC_CIVIL_CODE:
        return current_calendar()
    if rule == deadlines.CCPA:
        return us_business_calendar(range(around.year - 1, around.year + 3))
    return WeekdayCalendar()


def _last_day(start: dt.date, *, length: int, unit: str, terms: deadlines.Terms) -> dt.date:
    return deadlines.policy_last_day(
        start,
        length=length,
        unit=unit,
        rule=terms.rule,
        calendar=calendar_for(terms.rule, around=start),
    )


def due_at_for(
    *, verified_at: dt.datetime, request=None, terms: deadlines.Terms | None = None
) -> dt.datetime:
    """The deadline of a request verified at ``verified_at`` under its response policy (the
    terms fixed at intake; the ``DSAR_SLA_*`` default without a request). A policy counted
    from receipt starts at the request's ``received_at``."""
    if terms is None:
        terms = policies.terms_of(request) if request is not None else policies.default_terms()
    start = verified_at
    if terms.start == deadlines.FROM_RECEIPT and request is not None:
        start = request.received_at
    if start.tzinfo is None:
        raise ValueError("The start of a period must be timezone-aware.")
    tz = local_tz()
    day = start.astimezone(tz).date()
    return deadlines.end_of_day(
        _last_day(day, length=terms.length, unit=terms.unit, terms=terms), tz
    )


def ack_due_at(request) -> dt.datetime | None:
    """By when receipt must be acknowledged (from receipt), for a policy that sets it."""
    terms = policies.terms_of(request)
    if terms.ack_length is None:
        return None
    tz = local_tz()
    day = request.received_at.astimezone(tz).date()
    return deadlines.end_of_day(
        _last_day(day, length=terms.ack_length, unit=terms.ack_unit, terms=terms), tz
    )


def extension_limit(request) -> tuple[int, str]:
    """How long an extension of ``request`` may be, and in which unit."""
    terms = policies.terms_of(request)
    if terms.extension_length is None:
        # The settings' limit, in days counted as the period is (calendar or working days).
        days = (deadlines.CALENDAR_DAYS, deadlines.CN_WORKDAYS)
        unit = terms.unit if terms.unit in days else deadlines.CALENDAR_DAYS
        return settings.DSAR_SLA_MAX_EXTENSION_DAYS, unit
    return terms.extension_length, terms.extension_unit


def describe_policy(request, *, with_jurisdiction: bool = False) -> str:
    """The request's response policy in one line for staff: length, unit, start and rule
    (after where the subject lives, with ``with_jurisdiction``)."""
    terms = policies.terms_of(request)
    text = _("%(length)s %(unit)s from %(start)s (%(rule)s)") % {
        "length": terms.length,
        "unit": Unit(terms.unit).label,
        "start": StartEvent(terms.start).label,
        "rule": CountingRule(terms.rule).label,
    }
    if terms.extension_length:
        text += _("; extension: %(length)s %(unit)s") % {
            "length": terms.extension_length,
            "unit": Unit(terms.extension_unit).label,
        }
    if with_jurisdiction:
        place = (
            Jurisdiction(request.jurisdiction).label
            if request.jurisdiction in Jurisdiction.values
            else _("platform default")
        )
        text = f"{place}: {text}"
    return text


def resumed_due_at(
    *, due_at: dt.datetime, paused_before: dt.timedelta, paused_after: dt.timedelta
) -> dt.datetime:
    """The deadline once the request's total paused time grew from ``paused_before`` to
    ``paused_after``: moved by the whole days that growth completed (see ``deadlines``)."""
    days = deadlines.whole_days(paused_after) - deadlines.whole_days(paused_before)
    return deadlines.moved_due_at(due_at, days=days, calendar=current_calendar(), tz=local_tz())


def paused_so_far(request, *, now: dt.datetime) -> dt.timedelta:
    """The request's total paused time, the pause under way (if any) included."""
    current = now - request.paused_at if request.paused_at is not None else dt.timedelta(0)
    return request.paused_total + max(current, dt.timedelta(0))


def warn_window() -> dt.timedelta:
    """How long before its deadline a request is "due soon"."""
    return dt.timedelta(days=settings.DSAR_SLA_WARN_DAYS)


def warn_at(due_at: dt.datetime) -> dt.datetime:
    """When a request becomes "due soon"."""
    return due_at - warn_window()


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


def extended_due_at(*, due_at: dt.datetime, days: int, request=None) -> dt.datetime:
    """The deadline ``days`` more units (``extension_limit``'s unit) after the current one,
    counted by the request's rule (the settings' mode without a request).

    The period restarts from the current last day (not counted), so the same rules apply: a
    last day on a rest day rolls to the next working day where the rule says so.
    """
    tz = local_tz()
    if request is None:
        terms = policies.default_terms()
        unit = terms.unit
    else:
        terms = policies.terms_of(request)
        unit = extension_limit(request)[1]
    new_last = _last_day(deadlines.deadline_day(due_at, tz), length=days, unit=unit, terms=terms)
    return deadlines.end_of_day(new_last, tz)


def last_day(due_at: dt.datetime | None) -> dt.date | None:
    """The local date a deadline falls on (deadlines are stored as the midnight after it)."""
    return None if due_at is None else deadlines.deadline_day(due_at, local_tz())


def days_left(request, *, now: dt.datetime) -> int | None:
    """Days until the deadline, today and the last day counted (negative once breached);
    frozen while paused; ``None`` without a running or stopped clock (unverified, closed)."""
    if request.due_at is None or not request.is_open:
        return None
    return deadlines.days_left(request.due_at, now=request.paused_at or now, tz=local_tz())


def met(request) -> bool:
    """A closed request met its deadline when it closed by it (the deadline already moved by
    the time it waited for the subject). The database form is :func:`met_q`."""
    return request.closed_at is not None and request.closed_at <= request.due_at


def met_q() -> Q:
    """:func:`met` as a filter, for counting in the database."""
    return Q(closed_at__lte=F("due_at"))


def missed_q() -> Q:
    return Q(closed_at__gt=F("due_at"))


def breached_q(*, now: dt.datetime) -> Q:
    """Requests whose deadline had passed by ``now`` without a reply: closed after it, or
    still open past it. A request paused before its deadline is not breached: its deadline
    moves when it resumes."""
    still_open = Q(closed_at__isnull=True) & (
        Q(paused_at__isnull=True) | Q(due_at__lte=F("paused_at"))
    )
    return Q(due_at__lte=now) & (still_open | missed_q())


def running_time(
    *, verified_at: dt.datetime, closed_at: dt.datetime, paused_total: dt.timedelta
) -> dt.timedelta:
    """How long the clock ran for a closed request: verification to closure, pauses left out."""
    return deadlines.running_time(verified_at=verified_at, closed_at=closed_at, paused=paused_total)


# Zones people know by a name; any other zone is shown by its identifier.
_ZONE_NAMES = {
    "Asia/Shanghai": gettext_lazy("China Standard Time"),
    "Asia/Chongqing": gettext_lazy("China Standard Time"),
    "PRC": gettext_lazy("China Standard Time"),
}


def _utc_offset(instant: dt.datetime) -> str:
    minutes = int(instant.utcoffset().total_seconds() // 60)
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_deadline(due_at: dt.datetime | None) -> str:
    """A deadline written out for people, in the active language, with its time zone:
    "17 Dec 2026, end of day (China Standard Time, UTC+8)", "2026年12月17日 24:00（北京时间，
    UTC+8）". Every page, email and API field that shows a deadline uses this.

    A deadline that does not end a day (one moved by the exact paused time, before pauses
    were counted in whole days) shows its local time instead of "end of day".
    """
    if due_at is None:
        return "—"
    tz = local_tz()
    date_format = pgettext("deadline date", "j M Y")
    parts = {
        "zone": str(_ZONE_NAMES.get(tz.key, tz.key)),
        # The offset of the last day itself (the same but across a change of offset).
        "offset": _utc_offset((due_at - dt.timedelta(microseconds=1)).astimezone(tz)),
    }
    if deadlines.ends_a_day(due_at, tz):
        parts["date"] = dateformat.format(deadlines.deadline_day(due_at, tz), date_format)
        return _("%(date)s, end of day (%(zone)s, %(offset)s)") % parts
    local = due_at.astimezone(tz)
    parts["date"] = dateformat.format(local, date_format)
    parts["time"] = local.strftime("%H:%M")
    return _("%(date)s, %(time)s (%(zone)s, %(offset)s)") % parts


def policy_summary(request) -> dict:
    """The request's response policy for the staff API (``PolicySerializer``)."""
    terms = policies.terms_of(request)
    ack = ack_due_at(request)
    limit, unit = extension_limit(request)
    return {
        "jurisdiction": request.jurisdiction or settings.DSAR_DEFAULT_JURISDICTION,
        "length": terms.length,
        "unit": terms.unit,
        "start_event": terms.start,
        "counting_rule": terms.rule,
        "source": (request.response_policy or {}).get("source") or "DSAR_SLA_* settings",
        "description": describe_policy(request),
        "ack_due_at": ack,
        "ack_due_display": format_deadline(ack) if ack else None,
        "extension_limit": limit,
        "extension_unit": unit,
    }
