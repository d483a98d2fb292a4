"""Requests never verified expire after DSAR_VERIFY_EXPIRY_DAYS, through the beat task."""

import datetime as dt

import pytest
import time_machine
from celery.schedules import maybe_schedule
from django.conf import settings

from config.celery import app
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


def worker_tasks() -> dict:
    """The tasks a worker knows by name: at start it imports the default modules, which
    runs the autodiscovery of every app's tasks module."""
    app.loader.import_default_modules()
    return app.tasks


def test_beat_runs_the_expiry_task_by_its_name_at_least_hourly(make_request):
    """The beat entry names a task the worker knows; run by that name, as a worker does, it
    expires a request past the limit. Hourly, a request expires within an hour of its limit."""
    entry = settings.CELERY_BEAT_SCHEDULE["expire-unverified"]
    assert maybe_schedule(entry["schedule"]).run_every <= dt.timedelta(hours=1)
    task = worker_tasks()[entry["task"]]  # the name a worker looks the message up by
    with time_machine.travel(START, tick=False) as clock:
        request = announced(make_request)
        clock.shift(dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS, seconds=1))
        assert task.apply().get() == 1
    assert RightsRequest.objects.get(pk=request.pk).status == Status.EXPIRED


def test_every_beat_entry_names_a_task_the_worker_knows():
    unknown = {
        name: entry["task"]
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] not in worker_tasks()
    }
    assert unknown == {}
