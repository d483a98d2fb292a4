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
