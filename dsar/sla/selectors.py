"""SLA state (SPEC §4), computed the same way in Python and in the database.

``sla_state`` answers for one loaded request; ``with_sla_state`` annotates a queryset with
the same answer so the queue can filter and sort on it. ``tests/sla/test_state.py`` checks
that both agree on a table of cases.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Case, CharField, Max, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dsar.sla import clock
from dsar.workflow.models import TERMINAL_STATUSES, RightsRequest, Status


class SlaState:
    NOT_STARTED = "not_started"  # not verified yet: no clock
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"

    CHOICES = [
        (ON_TRACK, _("On track")),
        (DUE_SOON, _("Due soon")),
        (BREACHED, _("Breached")),
        (PAUSED, _("Paused")),
        (MET, _("Met")),
        (MISSED, _("Missed")),
        (NOT_STARTED, _("Not started")),
    ]


def sla_state(request: RightsRequest, *, now: dt.datetime) -> str:
    if request.due_at is None:
        return SlaState.NOT_STARTED
    if request.status in TERMINAL_STATUSES:
        return SlaState.MET if clock.met(request) else SlaState.MISSED
    if request.paused_at is not None:
        return SlaState.PAUSED
    if request.due_at <= now:
        return SlaState.BREACHED
    if request.due_at <= now + clock.warn_window():
        return SlaState.DUE_SOON
    return SlaState.ON_TRACK


def with_sla_state(queryset: QuerySet, *, now: dt.datetime) -> QuerySet:
    """Annotate ``sla_state`` with exactly the rules of :func:`sla_state`."""
    closed = Q(status__in=TERMINAL_STATUSES)
    return queryset.annotate(
        sla_state=Case(
            When(due_at__isnull=True, then=Value(SlaState.NOT_STARTED)),
            When(closed & clock.met_q(), then=Value(SlaState.MET)),
            When(closed, then=Value(SlaState.MISSED)),
            When(paused_at__isnull=False, then=Value(SlaState.PAUSED)),
            When(due_at__lte=now, then=Value(SlaState.BREACHED)),
            When(due_at__lte=now + clock.warn_window(), then=Value(SlaState.DUE_SOON)),
            default=Value(SlaState.ON_TRACK),
            output_field=CharField(),
        )
    )


def open_breached(*, now: dt.datetime) -> QuerySet:
    return RightsRequest.objects.exclude(status__in=TERMINAL_STATUSES).filter(
        due_at__lte=now, paused_at__isnull=True
    )


def calendar_warnings(*, now: dt.datetime | None = None) -> list[int]:
    """Years that open deadlines reach but the holiday data does not cover, for staff pages.

    Looks as far as the latest open deadline, and far enough ahead that a request verified
    today and extended once is included; an override in a year covers that year.
    """
    now = now or timezone.now()
    latest = (
        RightsRequest.objects.exclude(status__in=TERMINAL_STATUSES)
        .exclude(status=Status.PENDING_VERIFICATION)
        .aggregate(latest=Max("due_at"))["latest"]
    )
    tz = clock.local_tz()
    first = now.astimezone(tz).year
    # A request verified today can end up to SLA + extension days away.
    horizon = now + dt.timedelta(
        days=2 * (settings.DSAR_SLA_DAYS + settings.DSAR_SLA_MAX_EXTENSION_DAYS)
    )
    last = max(horizon, latest or horizon).astimezone(tz).year
    return clock.current_calendar().uncovered_years(range(first, last + 1))
