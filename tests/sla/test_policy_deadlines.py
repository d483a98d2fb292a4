"""Dated cases of the response policies' counting rules (dsar.sla.deadlines, pure).

Each expected date names its source: the rule's article, and the calendar fact it turns on
(the weekday, the holiday). Weekdays were read from a printed 2026–2028 calendar; US national
holidays are the federal ones of 5 U.S.C. §6103 with OPM's observed dates.
"""

import datetime as dt

import pytest

from dsar.sla import deadlines as d
from dsar.sla.calendars import WeekdayCalendar, WorkCalendar, us_business_calendar

D = dt.date
EU = WeekdayCalendar()  # Reg. 1182/71 Art. 3(4): Saturdays, Sundays (and public holidays)
US = us_business_calendar(range(2025, 2030))


def eu_months(start, months):
    return d.policy_last_day(start, length=months, unit=d.MONTHS, rule=d.EU_1182_71, calendar=EU)


GDPR_ONE_MONTH = [
    # (received, last day, source)
    (D(2026, 3, 10), D(2026, 4, 10), "Art. 3(2)(c): same date of the next month; Fri 10 Apr"),
    (D(2026, 3, 31), D(2026, 4, 30), "Art. 3(2)(c): April has no 31st → its last day, Thu"),
    (D(2026, 1, 31), D(2026, 3, 2), "no 31 Feb → Sat 28 Feb; Art. 3(4) → Mon 2 Mar"),
    (D(2028, 1, 31), D(2028, 2, 29), "leap year: no 31 Feb → Tue 29 Feb 2028"),
    (D(2028, 2, 29), D(2028, 3, 29), "from a leap day: same date, Wed 29 Mar 2028"),
    (D(2027, 1, 29), D(2027, 3, 1), "no 29 Feb 2027 → Sun 28 Feb; Art. 3(4) → Mon 1 Mar"),
    (D(2026, 4, 16), D(2026, 5, 18), "Sat 16 May; Art. 3(4) → Mon 18 May"),
    (D(2026, 4, 17), D(2026, 5, 18), "Sun 17 May; Art. 3(4) → Mon 18 May"),
    (D(2026, 8, 15), D(2026, 9, 15), "received on a Saturday: same date, Tue 15 Sep"),
    (D(2026, 12, 15), D(2027, 1, 15), "across the year end: Fri 15 Jan 2027"),
    (D(2026, 12, 31), D(2027, 2, 1), "Sun 31 Jan 2027; Art. 3(4) → Mon 1 Feb"),
]


@pytest.mark.parametrize(("received", "expected", "source"), GDPR_ONE_MONTH)
def test_gdpr_one_month_from_receipt(received, expected, source):
    assert eu_months(received, 1) == expected, source


@pytest.mark.parametrize(
    ("last_day", "expected", "source"),
    [
        (D(2026, 4, 10), D(2026, 6, 10), "GDPR Art. 12(3) +2 months; Wed 10 Jun"),
        (D(2026, 12, 31), D(2027, 3, 1), "no 31 Feb → Sun 28 Feb 2027; Art. 3(4) → Mon 1 Mar"),
        (D(2027, 12, 30), D(2028, 2, 29), "no 30 Feb 2028 → its last day, Tue 29 Feb"),
    ],
)
def test_gdpr_extension_by_two_months(last_day, expected, source):
    assert eu_months(last_day, 2) == expected, source


def ccpa_business(start, days):
    return d.policy_last_day(start, length=days, unit=d.BUSINESS_DAYS, rule=d.CCPA, calendar=US)


CCPA_BUSINESS_DAYS = [
    # (received, business days, last day, source); 11 CCR §7001: Mon–Fri without national
    # holidays; §7004 acknowledgement 10 business days; §7026(f) opt-out 15 business days.
    (D(2026, 3, 2), 10, D(2026, 3, 16), "Mon → two weeks later, Mon 16 Mar"),
    (D(2026, 3, 6), 10, D(2026, 3, 20), "from a Friday: Fri 20 Mar"),
    (D(2026, 3, 7), 10, D(2026, 3, 20), "from a Saturday: the same Fri 20 Mar"),
    (D(2026, 1, 14), 10, D(2026, 1, 29), "MLK Day Mon 19 Jan skipped: Thu 29 Jan"),
    (D(2026, 6, 15), 10, D(2026, 6, 30), "Juneteenth Fri 19 Jun skipped: Tue 30 Jun"),
    (D(2026, 6, 29), 10, D(2026, 7, 14), "4 July on a Sat, observed Fri 3 Jul: Tue 14 Jul"),
    (D(2026, 10, 5), 10, D(2026, 10, 20), "Columbus Day Mon 12 Oct skipped: Tue 20 Oct"),
    (D(2026, 11, 23), 10, D(2026, 12, 8), "Thanksgiving Thu 26 Nov skipped (27th is not): 8 Dec"),
    (D(2026, 12, 21), 10, D(2027, 1, 6), "Christmas Fri 25 Dec, New Year Fri 1 Jan: Wed 6 Jan"),
    (D(2027, 12, 20), 10, D(2028, 1, 5), "observed Fri 24 Dec and Fri 31 Dec 2027: Wed 5 Jan"),
    (D(2026, 11, 2), 15, D(2026, 11, 24), "opt-out; Veterans Day Wed 11 Nov skipped: Tue 24"),
    (D(2026, 8, 31), 15, D(2026, 9, 22), "opt-out; Labor Day Mon 7 Sep skipped: Tue 22 Sep"),
]


@pytest.mark.parametrize(("received", "days", "expected", "source"), CCPA_BUSINESS_DAYS)
def test_ccpa_business_days(received, days, expected, source):
    assert ccpa_business(received, days) == expected, source


@pytest.mark.parametrize(
    ("received", "expected", "source"),
    [
        (D(2026, 3, 2), D(2026, 4, 16), "§7021(a) 45 calendar days: Thu 16 Apr"),
        (D(2026, 3, 4), D(2026, 4, 18), "Sat 18 Apr: calendar days do not roll (§7001)"),
        (D(2026, 11, 20), D(2027, 1, 4), "across the year end: Mon 4 Jan 2027"),
    ],
)
def test_ccpa_45_calendar_days(received, expected, source):
    last = d.policy_last_day(received, length=45, unit=d.CALENDAR_DAYS, rule=d.CCPA, calendar=US)
    assert last == expected, source


def test_prc_cancellation_working_days_over_national_day():
    """Verified Mon 28 Sep 2026; National Day 1–7 Oct off, Sat 10 Oct an adjusted working day
    (State Council's 2026 holiday notice): 29, 30 Sep, 8, 9, 10 Oct, 12–16, 19–23 Oct."""
    last = d.policy_last_day(
        D(2026, 9, 28),
        length=15,
        unit=d.CN_WORKDAYS,
        rule=d.PRC_CIVIL_CODE,
        calendar=WorkCalendar(),
    )
    assert last == D(2026, 10, 23)


def test_prc_cancellation_in_a_year_the_holiday_data_does_not_cover():
    """2027 is beyond chinesecalendar 1.11: weekends only, so 1 Oct counts as a working day,
    and the year is reported for staff to add overrides."""
    calendar = WorkCalendar()
    assert calendar.uncovered_years([2027]) == [2027]
    last = d.policy_last_day(
        D(2027, 9, 27), length=15, unit=d.CN_WORKDAYS, rule=d.PRC_CIVIL_CODE, calendar=calendar
    )
    assert last == D(2027, 10, 18)


def test_prc_months_follow_civil_code_art_202():
    """Art. 202: the same date of the last month, else its last day; then Art. 203's roll, on
    the official calendar with its adjusted weekends (调休)."""
    prc = WorkCalendar()
    last = d.policy_last_day(
        D(2026, 1, 31), length=1, unit=d.MONTHS, rule=d.PRC_CIVIL_CODE, calendar=prc
    )
    # Sat 28 Feb 2026 is an adjusted working day (2026 Spring Festival notice): no roll.
    assert last == D(2026, 2, 28)
    last = d.policy_last_day(
        D(2026, 3, 31), length=1, unit=d.MONTHS, rule=d.PRC_CIVIL_CODE, calendar=prc
    )
    assert last == D(2026, 4, 30)  # April's last day, a Thursday


def test_the_prc_calendar_rule_is_the_settings_calendar_mode():
    prc = WorkCalendar()
    for start in (D(2026, 1, 20), D(2026, 4, 25), D(2026, 9, 24)):
        for unit, mode in ((d.CALENDAR_DAYS, d.CALENDAR), (d.CN_WORKDAYS, d.CN_WORKDAYS)):
            assert d.policy_last_day(
                start, length=15, unit=unit, rule=d.PRC_CIVIL_CODE, calendar=prc
            ) == d.last_day(start, days=15, mode=mode, calendar=prc)


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        (d.Terms(length=1, unit=d.MONTHS, rule=d.CCPA), "unit"),
        (d.Terms(length=10, unit=d.BUSINESS_DAYS, rule=d.PRC_CIVIL_CODE), "unit"),
        (d.Terms(length=10, unit=d.CN_WORKDAYS, rule=d.EU_1182_71), "unit"),
        (d.Terms(length=0), "length"),
        (d.Terms(length=13, unit=d.MONTHS, rule=d.EU_1182_71), "length"),
        (d.Terms(length=5, rule="roman_law"), "counting_rule"),
        (d.Terms(length=5, start="whenever"), "start_event"),
        (d.Terms(length=5, ack_length=3), "ack_length"),
        (
            d.Terms(length=10, unit=d.CALENDAR_DAYS, rule=d.CCPA, ack_length=10,
                    ack_unit=d.BUSINESS_DAYS),
            "ack_length",
        ),
        (d.Terms(length=1, unit=d.MONTHS, rule=d.EU_1182_71, extension_length=2,
                 extension_unit=d.BUSINESS_DAYS), "extension_unit"),
    ],
)  # fmt: skip
def test_impossible_terms_are_named_by_field(terms, field):
    assert field in d.terms_errors(terms)


def test_policy_last_day_refuses_impossible_terms():
    with pytest.raises(ValueError, match="counts in"):
        d.policy_last_day(D(2026, 1, 1), length=1, unit=d.MONTHS, rule=d.CCPA, calendar=US)


def test_terms_round_trip_through_a_dict():
    terms = d.Terms(length=45, unit=d.CALENDAR_DAYS, rule=d.CCPA, start=d.FROM_RECEIPT,
                    ack_length=10, ack_unit=d.BUSINESS_DAYS)  # fmt: skip
    assert d.Terms.from_dict(terms.as_dict() | {"policy_id": 3, "source": "x"}) == terms
