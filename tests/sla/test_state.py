"""SLA state: the Python answer and the database annotation agree on every case."""

import datetime as dt

import pytest

from dsar.sla.selectors import SlaState, sla_state, with_sla_state
from dsar.workflow.models import RightsRequest, Status

NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

# (status, due_at, paused_at, closed_at, expected)
CASES = [
    (Status.PENDING_VERIFICATION, None, None, None, SlaState.NOT_STARTED),
    (Status.IN_REVIEW, NOW + 10 * DAY, None, None, SlaState.ON_TRACK),
    (Status.IN_REVIEW, NOW + 3 * DAY + dt.timedelta(seconds=1), None, None, SlaState.ON_TRACK),
    (Status.IN_REVIEW, NOW + 3 * DAY, None, None, SlaState.DUE_SOON),
    (Status.PROCESSING, NOW + dt.timedelta(minutes=1), None, None, SlaState.DUE_SOON),
    (Status.IN_REVIEW, NOW, None, None, SlaState.BREACHED),
    (Status.COOLING_OFF, NOW - DAY, None, None, SlaState.BREACHED),
    (Status.AWAITING_SUBJECT, NOW - DAY, NOW - 2 * DAY, None, SlaState.PAUSED),
    (Status.COMPLETED, NOW - DAY, None, NOW - 2 * DAY, SlaState.MET),
    (Status.COMPLETED, NOW - DAY, None, NOW - DAY, SlaState.MET),
    (Status.DENIED, NOW - DAY, None, NOW, SlaState.MISSED),
    (Status.WITHDRAWN, None, None, NOW, SlaState.NOT_STARTED),
]


@pytest.mark.django_db
def test_python_and_database_agree(make_request):
    ids = {}
    for i, (status, due, paused, closed, expected) in enumerate(CASES):
        request = make_request(status=Status.PENDING_VERIFICATION)
        RightsRequest.objects.filter(pk=request.pk).update(
            status=status, due_at=due, paused_at=paused, closed_at=closed
        )
        ids[request.pk] = (i, expected)
    annotated = with_sla_state(RightsRequest.objects.filter(pk__in=ids), now=NOW)
    for row in annotated:
        i, expected = ids[row.pk]
        assert sla_state(row, now=NOW) == expected, CASES[i]
        assert row.sla_state == expected, CASES[i]
    # The annotation filters and sorts in the database.
    breached = with_sla_state(RightsRequest.objects.all(), now=NOW).filter(
        sla_state=SlaState.BREACHED
    )
    assert breached.count() == 2
