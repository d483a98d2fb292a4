"""The official PRC working-day calendar, as the SLA arithmetic sees it.

Data comes from the maintained ``chinesecalendar`` package (public holidays and the adjusted
working weekends, 调休, published each year by the State Council) plus overrides that staff
can add. A year the package does not cover falls back to "Monday to Friday are working days",
and :meth:`WorkCalendar.uncovered_years` reports it so staff can be warned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import chinese_calendar
import holidays


def _package_years() -> range:
    years = {day.year for day in chinese_calendar.holidays} | {
        day.year for day in chinese_calendar.workdays
    }
    return range(min(years), max(years) + 1)


PACKAGE_YEARS = _package_years()


class WorkCalendar:
    """Answers "is this local date a working day?" for deadline arithmetic.

    ``overrides`` maps a date to ``True`` (a working day) or ``False`` (a rest day); an
    override always wins. ``covered_years`` are the years whose holidays are known; other
    years use weekends only. A year counts as covered by overrides once any override names it.
    """

    def __init__(
        self,
        overrides: Mapping[dt.date, bool] | None = None,
        *,
        package_years: Iterable[int] = PACKAGE_YEARS,
    ):
        self.overrides = dict(overrides or {})
        self.package_years = frozenset(package_years)

    def covers(self, year: int) -> bool:
        return year in self.package_years or any(d.year == year for d in self.overrides)

    def uncovered_years(self, years: Iterable[int]) -> list[int]:
        return sorted({y for y in years if not self.covers(y)})

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.package_years:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5  # weekends-only fallback

    def next_workday(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day


class WeekdayCalendar:
    """Monday to Friday are working days, except the ``holidays`` given.

    Reg. 1182/71 (Art. 3(4)) moves a last day off Saturdays, Sundays and public holidays; the
    EU's own public holidays differ by member state and institution, so the ``eu_1182_71`` rule
    counts on weekdays only (staff extend a period by hand where a holiday matters). The CCPA
    regulations' business day is Monday to Friday without national holidays
    (:func:`us_business_calendar`).
    """

    def __init__(self, holidays: Iterable[dt.date] = ()):
        self.holidays = frozenset(holidays)

    def is_workday(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_workday(self, day: dt.date) -> dt.date:
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day


def us_national_holidays(years: Iterable[int]) -> frozenset[dt.date]:
    """The US federal holidays of ``years`` (with their observed dates), from the maintained
    ``holidays`` package, which computes them for any year."""
    return frozenset(holidays.US(years=list(years)))


def us_business_calendar(years: Iterable[int]) -> WeekdayCalendar:
    """Business days as Cal. Code Regs. tit. 11 §7001 defines them: Monday to Friday, excluding
    national holidays."""
    return WeekdayCalendar(us_national_holidays(years))
