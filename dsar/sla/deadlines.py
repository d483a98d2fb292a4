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

**Response policies** (:class:`Terms`, stored in ``dsar.sla.models.ResponsePolicy`` and fixed on a
request at intake) add units and counting rules; every one of them excludes the start day:

- ``prc_civil_code`` (PRC Civil Code Art. 201–203): calendar days, working days on the official
  calendar (``cn_workdays``) or months (Art. 202: the same date of the last month, else its last
  day); a last day on a rest day moves to the next working day.
- ``eu_1182_71`` (Regulation (EEC, Euratom) No 1182/71, Art. 3): days or months (Art. 3(2)(c):
  the same date of the last month, else its last day); a last day on a Saturday, Sunday or
  public holiday moves to the next working day (Art. 3(4)).
- ``ccpa`` (Cal. Code Regs. tit. 11 §7001: "days" are calendar days, a "business day" is Monday
  to Friday without national holidays): calendar days are counted as they come (no roll), and
  business days on that calendar.

The calendar a rule counts on is given by the caller (``clock.calendar_for``), so this module
stays pure.
"""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from dataclasses import asdict, dataclass, fields
from typing import Protocol
from zoneinfo import ZoneInfo

from dsar.sla.calendars import WorkCalendar

DAY = dt.timedelta(days=1)
CALENDAR = "calendar"
CN_WORKDAYS = "cn_workdays"
MODES = (CALENDAR, CN_WORKDAYS)

# Units of a response policy's period.
CALENDAR_DAYS = "calendar_days"
BUSINESS_DAYS = "business_days"
MONTHS = "months"
UNITS = (CALENDAR_DAYS, CN_WORKDAYS, BUSINESS_DAYS, MONTHS)
# Counting rules, and the units each one knows.
PRC_CIVIL_CODE = "prc_civil_code"
EU_1182_71 = "eu_1182_71"
CCPA = "ccpa"
RULE_UNITS = {
    PRC_CIVIL_CODE: frozenset({CALENDAR_DAYS, CN_WORKDAYS, MONTHS}),
    EU_1182_71: frozenset({CALENDAR_DAYS, MONTHS}),
    CCPA: frozenset({CALENDAR_DAYS, BUSINESS_DAYS}),
}
RULES = tuple(RULE_UNITS)
# Where the period starts.
FROM_VERIFICATION = "verification"
FROM_RECEIPT = "receipt"
STARTS = (FROM_VERIFICATION, FROM_RECEIPT)
# The longest period a policy may set, per unit (a sanity bound against typing errors).
MAX_LENGTH = {CALENDAR_DAYS: 366, CN_WORKDAYS: 250, BUSINESS_DAYS: 250, MONTHS: 12}


class DayCalendar(Protocol):
    def is_workday(self, day: dt.date) -> bool: ...

    def next_workday(self, day: dt.date) -> dt.date: ...


@dataclass(frozen=True)
class Terms:
    """What a response policy promises, as the arithmetic needs it (and as a request keeps it)."""

    length: int
    unit: str = CALENDAR_DAYS
    rule: str = PRC_CIVIL_CODE
    start: str = FROM_VERIFICATION
    ack_length: int | None = None
    ack_unit: str = ""
    extension_length: int | None = None
    extension_unit: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Terms:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def period_errors(*, length, unit: str, rule: str, prefix: str = "") -> dict[str, list[str]]:
    """Why a period of ``length`` ``unit`` counted by ``rule`` cannot be computed, by field
    name (``prefix`` + ``length``/``unit``); empty when it can."""
    if rule not in RULE_UNITS:
        return {"counting_rule": [f"Unknown counting rule {rule!r}; expected one of {RULES}."]}
    if unit not in RULE_UNITS[rule]:
        allowed = ", ".join(u.replace("_", " ") for u in UNITS if u in RULE_UNITS[rule])
        return {f"{prefix}unit": [f"The rule {rule} counts in {allowed}, not in {unit!r}."]}
    if (
        isinstance(length, bool)
        or not isinstance(length, int)
        or not 1 <= length <= MAX_LENGTH[unit]
    ):
        return {f"{prefix}length": [f"Choose 1 to {MAX_LENGTH[unit]} {unit.replace('_', ' ')}."]}
    return {}


def terms_errors(terms: Terms) -> dict[str, list[str]]:
    """Every reason ``terms`` are impossible, by field name (empty: they can be applied)."""
    errors = period_errors(length=terms.length, unit=terms.unit, rule=terms.rule)
    if terms.start not in STARTS:
        errors["start_event"] = [f"Start on one of {STARTS}."]
    for part in ("ack", "extension"):
        length, unit = getattr(terms, f"{part}_length"), getattr(terms, f"{part}_unit")
        if length is None and not unit:
            continue
        if length is None or not unit:
            errors[f"{part}_length"] = ["Give both the length and its unit, or neither."]
            continue
        errors.update(period_errors(length=length, unit=unit, rule=terms.rule, prefix=f"{part}_"))
    if not errors and terms.ack_length is not None:
        # An acknowledgement due after the reply itself is no acknowledgement.
        sample, cal = dt.date(2026, 1, 1), _WeekdaysOnly()
        if policy_last_day(
            sample, length=terms.ack_length, unit=terms.ack_unit, rule=terms.rule, calendar=cal
        ) > policy_last_day(
            sample, length=terms.length, unit=terms.unit, rule=terms.rule, calendar=cal
        ):
            errors["ack_length"] = ["The acknowledgement cannot be due after the reply."]
    return errors


class _WeekdaysOnly:
    def is_workday(self, day: dt.date) -> bool:
        return day.weekday() < 5

    def next_workday(self, day: dt.date) -> dt.date:
        while not self.is_workday(day):
            day += DAY
        return day


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


def add_months(start: dt.date, months: int) -> dt.date:
    """The same date ``months`` months after ``start``; the month's last day when it has no such
    date (31 January + 1 month = 28 or 29 February). Reg. 1182/71 Art. 3(2)(c); PRC Civil Code
    Art. 202."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, monthrange(year, month)[1]))


def _count_workdays(start: dt.date, days: int, calendar: DayCalendar) -> dt.date:
    day, counted = start, 0
    while counted < days:
        day += DAY
        counted += calendar.is_workday(day)
    return day


def policy_last_day(
    start: dt.date, *, length: int, unit: str, rule: str, calendar: DayCalendar
) -> dt.date:
    """The last local day of a period of ``length`` ``unit`` from ``start`` (not counted), as
    ``rule`` counts it on ``calendar`` (the rule's own: the PRC calendar, weekdays, or weekdays
    without US national holidays)."""
    if errors := period_errors(length=length, unit=unit, rule=rule):
        raise ValueError("; ".join(m for ms in errors.values() for m in ms))
    if unit in (CN_WORKDAYS, BUSINESS_DAYS):
        return _count_workdays(start, length, calendar)
    end = start + dt.timedelta(days=length) if unit == CALENDAR_DAYS else add_months(start, length)
    if rule == CCPA:
        return end  # calendar days as they come: the period never ends later than it says
    return calendar.next_workday(end)


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
