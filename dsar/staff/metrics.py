"""Figures for the dashboard and ``/api/v1/staff/metrics/``: counted in the database.

SLA compliance counts closed requests by the ISO week they closed in, ``met`` or ``missed`` as
the SLA clock decides (``sla.clock.met_q``). Days to close are the days the clock ran: from
verification (when it starts) to closure, without the time spent waiting for the subject, so
they compare with the 15-day promise.
"""

from __future__ import annotations

import datetime as dt
import statistics

from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractYear, TruncWeek

from dsar.fanout.backups import backups_pending_exists
from dsar.legal.models import Fee, FeeStatus, LegalReview, Representation
from dsar.sla import clock
from dsar.verification.models import Verification
from dsar.workflow.models import TERMINAL_STATUSES, Outcome, RequestType, RightsRequest, Status

WEEKS = 12
DAY = dt.timedelta(days=1)


def open_by_status_and_type() -> dict[str, dict[str, int]]:
    rows = (
        RightsRequest.objects.exclude(status__in=TERMINAL_STATUSES)
        .values("status", "type")
        .annotate(n=Count("pk"))
    )
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        table.setdefault(row["status"], {})[row["type"]] = row["n"]
    return table


def weekly_compliance(*, now: dt.datetime, weeks: int = WEEKS) -> list[dict]:
    """Per week for the last ``weeks`` weeks: requests closed on time, late, and breaches."""
    since = now - dt.timedelta(weeks=weeks)
    closed = (
        RightsRequest.objects.filter(closed_at__gte=since, verified_at__isnull=False)
        .exclude(status__in=[Status.WITHDRAWN, Status.EXPIRED])
        .annotate(week=TruncWeek("closed_at"))
        .values("week")
        .annotate(
            met=Count("pk", filter=clock.met_q()),
            missed=Count("pk", filter=clock.missed_q()),
        )
    )
    breaches = (
        RightsRequest.objects.filter(clock.breached_q(now=now), due_at__gte=since)
        .exclude(status__in=[Status.WITHDRAWN, Status.EXPIRED])
        .annotate(week=TruncWeek("due_at"))
        .values("week")
        .annotate(n=Count("pk"))
    )
    by_week = {_week(r["week"]): {"met": r["met"], "missed": r["missed"]} for r in closed}
    breach_by_week = {_week(r["week"]): r["n"] for r in breaches}
    start = _week(now) - dt.timedelta(weeks=weeks - 1)
    series = []
    for i in range(weeks):
        week = start + dt.timedelta(weeks=i)
        row = by_week.get(week, {"met": 0, "missed": 0})
        total = row["met"] + row["missed"]
        series.append(
            {
                "week": week.isoformat(),
                "met": row["met"],
                "missed": row["missed"],
                "compliance": round(row["met"] / total, 3) if total else None,
                "breaches": breach_by_week.get(week, 0),
            }
        )
    return series


def _week(value) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    return day - dt.timedelta(days=day.weekday())


def days_to_close(*, since: dt.datetime | None = None, filters: Q | None = None) -> dict:
    """Median and 90th percentile of the days the clock ran, verification to closure."""
    qs = RightsRequest.objects.filter(
        status__in=[Status.COMPLETED, Status.DENIED], verified_at__isnull=False
    )
    if since:
        qs = qs.filter(closed_at__gte=since)
    if filters is not None:
        qs = qs.filter(filters)
    rows = qs.values_list("verified_at", "closed_at", "paused_total")
    days = sorted(
        clock.running_time(verified_at=v, closed_at=c, paused_total=p) / DAY for v, c, p in rows
    )
    if not days:
        return {"count": 0, "median": None, "p90": None}
    p90 = days[min(len(days) - 1, int(round(0.9 * (len(days) - 1))))]
    return {"count": len(days), "median": round(statistics.median(days), 1), "p90": round(p90, 1)}


def by_channel() -> dict[str, int]:
    """Verified requests by the channel that verified them."""

    rows = Verification.objects.values("channel").annotate(n=Count("request", distinct=True))
    return {row["channel"]: row["n"] for row in rows}


def yearly_table() -> list[dict]:
    """CCPA §7102-style figures per year and request type."""
    counts = (
        RightsRequest.objects.annotate(year=ExtractYear("received_at"))
        .values("year", "type")
        .annotate(
            received=Count("pk"),
            complied_full=Count("pk", filter=Q(status=Status.COMPLETED, outcome=Outcome.FULL)),
            complied_partial=Count(
                "pk", filter=Q(status=Status.COMPLETED, outcome=Outcome.PARTIAL)
            ),
            denied=Count("pk", filter=Q(status=Status.DENIED)),
        )
        .order_by("-year", "type")
    )
    table = []
    for row in counts:
        timing = days_to_close(filters=Q(received_at__year=row["year"], type=row["type"]))
        table.append(
            {
                **row,
                "type_label": str(RequestType(row["type"]).label),
                "median_days": timing["median"],
            }
        )
    return table


def yearly_fees() -> list[dict]:
    """Cost fees for repeated requests per year (of the proposal) and currency: how many were
    proposed, accepted, paid, withdrawn with their request, and the amount paid."""
    rows = (
        Fee.objects.annotate(year=ExtractYear("proposed_at"))
        .values("year", "currency")
        .annotate(
            proposed=Count("pk"),
            accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
            paid=Count("pk", filter=Q(status=FeeStatus.PAID)),
            withdrawn=Count("pk", filter=Q(status=FeeStatus.WITHDRAWN)),
            paid_amount=Sum("amount", filter=Q(status=FeeStatus.PAID)),
        )
        .order_by("-year", "currency")
    )
    return [{**row, "paid_amount": str(row["paid_amount"] or "0.00")} for row in rows]


def yearly_representations() -> list[dict]:
    """Requests filed on someone else's behalf, per year of receipt and kind (agents and
    deceased subjects' relatives apart): how many, how many the subject confirmed (agents),
    and how many legal approved, refused or has still to review (relatives)."""
    rows = (
        Representation.objects.annotate(year=ExtractYear("request__received_at"))
        .values("year", "kind")
        .annotate(
            received=Count("pk"),
            confirmed=Count("pk", filter=Q(subject_confirmed_at__isnull=False)),
            approved=Count("pk", filter=Q(legal_review=LegalReview.APPROVED)),
            refused=Count("pk", filter=Q(legal_review=LegalReview.REFUSED)),
            awaiting_review=Count("pk", filter=Q(legal_review=LegalReview.PENDING)),
        )
        .order_by("-year", "kind")
    )
    return list(rows)


def dashboard(*, now: dt.datetime) -> dict:
    return {
        "open": open_by_status_and_type(),
        "weekly": weekly_compliance(now=now),
        "days_to_close": days_to_close(since=now - dt.timedelta(days=365)),
        "by_channel": by_channel(),
        "yearly": yearly_table(),
        "fees": yearly_fees(),
        "on_behalf": yearly_representations(),
        "backups_pending": backups_pending(),
    }


def backups_pending() -> int:
    """Requests (completed or not) whose backup tasks still wait for the backups to rotate."""
    return RightsRequest.objects.filter(backups_pending_exists()).count()
