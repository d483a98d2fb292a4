import datetime as dt

import pytest

from dsar.sla.clock import due_at_for
from dsar.sla.models import CalendarOverride
from dsar.sla.selectors import calendar_warnings

SHANGHAI_10AM = dt.datetime(2026, 12, 17, 2, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_an_override_changes_the_deadline():
    # Day 15 is Fri 1 Jan 2027; the package has no 2027 data, so it counts as a working day.
    assert due_at_for(verified_at=SHANGHAI_10AM) == dt.datetime(2027, 1, 1, 16, tzinfo=dt.UTC)
    CalendarOverride.objects.create(date=dt.date(2027, 1, 1), is_workday=False, note="元旦")
    assert due_at_for(verified_at=SHANGHAI_10AM) == dt.datetime(2027, 1, 4, 16, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_uncovered_year_warning_until_an_override_covers_it():
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    assert calendar_warnings(now=now) == [2027]
    CalendarOverride.objects.create(date=dt.date(2027, 1, 1), is_workday=False)
    assert calendar_warnings(now=now) == []
    assert calendar_warnings(now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)) == []


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_warning_shows_once_and_only_to_those_who_can_add_overrides(
    client, staff_user, language
):
    """Only an admin can add calendar overrides: an agent or supervisor is not asked to."""
    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC), tick=False):
        for role, expected in (("supervisor", 0), ("agent", 0), ("admin", 1)):
            client.force_login(staff_user(role))
            for page in ("/staff/", "/staff/dashboard/"):
                answer = client.get(page, HTTP_ACCEPT_LANGUAGE=language)
                if answer.status_code == 403:  # the dashboard is not every role's
                    continue
                text = answer.content.decode()
                word = "2027" if language == "en" else "2027 年"
                shown = text.count(f"does not cover {word}") + text.count(f"未覆盖 {word}")
                assert shown == expected, (role, page)
