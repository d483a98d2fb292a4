import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dsar.sla.clock import due_at_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
def test_reads_the_configured_policy(settings):
    verified = dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI)
    settings.DSAR_SLA_CALENDAR = "calendar"
    assert due_at_for(verified_at=verified) == dt.datetime(2026, 2, 25, 16, tzinfo=dt.UTC)
    settings.DSAR_SLA_CALENDAR = "cn_workdays"
    assert due_at_for(verified_at=verified) == dt.datetime(2026, 3, 9, 16, tzinfo=dt.UTC)
    settings.DSAR_SLA_DAYS = 5
    assert due_at_for(verified_at=verified) == dt.datetime(2026, 2, 24, 16, tzinfo=dt.UTC)
