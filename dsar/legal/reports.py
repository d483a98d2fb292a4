"""Downstream ``check`` results, as the legal checks need them.

The fan-out engine calls ``record_downstream_check`` after each system's ``check`` action
(a dry run). The checks read the stored reports through ``dsar.legal.sources``.
"""

from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.legal import engine
from dsar.legal.models import DownstreamReport
from dsar.workflow.models import RightsRequest
from dsar.workflow.transitions import LIVE_STATUSES


def record_downstream_check(
    *,
    request: RightsRequest,
    system: str,
    obligations: list[dict] = (),
    identity_hashes: list[str] = (),
    categories: list[str] = (),
    uncovered: list[str] = (),
) -> DownstreamReport:
    """Store what ``system``'s ``check`` reported for ``request``, replacing its previous
    report. ``obligations`` are ``{"kind": "balance" | "open_order" | "dispute" | ...}``;
    ``identity_hashes`` are keyed hashes (``dsar.workflow.identity``) of the emails and
    phones the system holds for the account; ``categories`` name retention categories;
    ``uncovered`` names tables holding personal columns the system's data map misses.
    The request's checks re-run at once while it is open and verified."""
    with transaction.atomic():
        report, _ = DownstreamReport.objects.update_or_create(
            request=request,
            system=system,
            defaults={
                "obligations": [{"kind": str(o.get("kind", "other"))} for o in obligations],
                "identity_hashes": sorted(set(identity_hashes)),
                "categories": sorted(set(categories)),
                "uncovered": sorted(set(uncovered)),
                "reported_at": timezone.now(),
            },
        )
        record_event(
            action="legal.downstream_check",
            actor=Actor.system(f"downstream:{system}"),
            request_id=request.pk,
            payload={
                "system": system,
                "obligations": [o["kind"] for o in report.obligations],
                "categories": report.categories,
                "uncovered_tables": len(report.uncovered),
            },
        )
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status in LIVE_STATUSES:
            engine.run_checks(locked, stage="downstream_report")
    return report
