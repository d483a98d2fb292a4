"""Requests never verified expire after DSAR_VERIFY_EXPIRY_DAYS, through the beat task."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from dsar.notifications.models import OutboundEmail
from dsar.verification.services import issue_challenge
from dsar.verification.tasks import expire_unverified
from dsar.workflow.models import RightsRequest, Status

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC)


def announced(make_request) -> RightsRequest:
    """A pending request whose code went out (one held back by the address limit, never
    announced, expires without a notice: tests/security/test_flooding.py)."""
    request = make_request()
    issue_challenge(request=request)
    return request


def test_unverified_request_expires_after_the_configured_days(make_request):
    with time_machine.travel(START, tick=False) as clock:
        request = announced(make_request)
        clock.shift(dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS, seconds=1))
        assert expire_unverified() == 1
    request.refresh_from_db()
    assert request.status == Status.EXPIRED and request.closed_at is not None
    assert OutboundEmail.objects.filter(request_id=request.pk, template="expired").exists()


def test_request_younger_than_the_limit_stays(make_request):
    with time_machine.travel(START, tick=False) as clock:
        request = make_request()
        clock.shift(dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS - 1))
        assert expire_unverified() == 0
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PENDING_VERIFICATION


def test_verified_requests_never_expire(make_request):
    with time_machine.travel(START, tick=False) as clock:
        request = make_request(status=Status.IN_REVIEW)
        clock.shift(dt.timedelta(days=90))
        assert expire_unverified() == 0
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW


def test_running_twice_expires_once(make_request):
    with time_machine.travel(START, tick=False) as clock:
        request = announced(make_request)
        clock.shift(dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS + 1))
        assert (expire_unverified(), expire_unverified()) == (1, 0)
    assert OutboundEmail.objects.filter(request_id=request.pk, template="expired").count() == 1


def test_expiry_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-unverified"]
    assert entry["task"] == "dsar.verification.tasks.expire_unverified"
