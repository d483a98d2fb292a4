"""Per-process copies of the branding, the calendar overrides and the response policies
(``dsar.snapshots``): read
with one round trip to the cache while unchanged, read again by every holder once a change
commits, never kept from an edit that rolled back."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dsar.branding.models import Branding
from dsar.branding.services import load
from dsar.sla.clock import current_calendar
from dsar.sla.models import CalendarOverride, CountingRule, ResponsePolicy, StartEvent, Unit
from dsar.sla.policies import policy_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_limits")]

NEW_YEAR = dt.date(2031, 1, 1)  # a Wednesday; 2031 has no holiday data in the package


def name_of_branding():
    row = load()
    return row.name_en if row else None


def new_year_is_workday():
    return current_calendar().is_workday(NEW_YEAR)


def add_branding():
    Branding(name_zh="示例公司", name_en="Example Ltd").save()


def add_override():
    CalendarOverride.objects.create(date=NEW_YEAR, is_workday=False, note="元旦")


def gdpr_cancellation_days():
    policy = policy_for(type="cancellation", jurisdiction="eu-gdpr")
    return policy.length if policy else None


def add_gdpr_cancellation_policy():
    ResponsePolicy.objects.filter(jurisdiction="eu-gdpr").delete()  # a row seeded by a migration
    ResponsePolicy(
        jurisdiction="eu-gdpr", request_type="cancellation", length=20, unit=Unit.CALENDAR_DAYS,
        counting_rule=CountingRule.EU_1182_71, start_event=StartEvent.RECEIPT, source="test",
    ).save()  # as the admin saves it  # fmt: skip


CASES = [
    pytest.param(name_of_branding, add_branding, None, "Example Ltd", id="branding"),
    pytest.param(new_year_is_workday, add_override, True, False, id="calendar-overrides"),
    pytest.param(
        gdpr_cancellation_days, add_gdpr_cancellation_policy, None, 20, id="response-policies"
    ),
]


def in_other_thread(read):
    """``read()`` as another holder of the copy sees it (a thread has its own copy)."""
    answer = []

    def run():
        try:
            answer.append(read())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return answer[0]


@pytest.mark.parametrize(("read", "change", "before", "after"), CASES)
def test_an_unchanged_table_is_read_from_the_copy_without_a_query(read, change, before, after):
    assert read() == before
    with CaptureQueriesContext(connection) as again:
        assert read() == before
    assert len(again) == 0


@pytest.mark.parametrize(("read", "change", "before", "after"), CASES)
def test_a_committed_change_reaches_every_holder_of_a_copy(read, change, before, after):
    assert read() == before
    assert in_other_thread(read) == before  # the other holder has its copy now
    change()  # committed (no transaction around it)
    assert read() == after
    assert in_other_thread(read) == after


@pytest.mark.parametrize(("read", "change", "before", "after"), CASES)
def test_a_change_rolled_back_leaves_no_copy_behind(read, change, before, after):
    assert read() == before
    with pytest.raises(RuntimeError), transaction.atomic():
        change()
        assert read() == after  # its own transaction sees its edit, from the table
        assert in_other_thread(read) == before  # nobody else does
        raise RuntimeError("rolled back")
    assert read() == before
    assert in_other_thread(read) == before


@pytest.mark.parametrize(("read", "change", "before", "after"), CASES)
def test_without_the_cache_the_table_is_read(read, change, before, after, settings):
    assert read() == before  # a copy is held
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    change()  # its new stamp cannot be written
    assert read() == after
