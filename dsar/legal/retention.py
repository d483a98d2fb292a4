"""Statutory retention: what an erasure keeps, and deleting it when the period ends.

When an erasure starts processing, every category the retention check found is excluded
from the fan-out and a deferred deletion is scheduled for the end of its period. The period
is counted from the day the erasure starts: the retained records (transactions, trips) all
ended before it, so their own periods end no later; this keeps data at most somewhat longer
than the minimum, never shorter. The beat task ``run_due_deletions`` carries them out.
"""

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.legal import selectors
from dsar.legal.models import DeferredDeletion, Finding, RetentionRule
from dsar.workflow import facts
from dsar.workflow.models import RightsRequest

RETENTION = Actor.system("retention")


def excluded_categories(request: RightsRequest) -> list[str]:
    """Categories the fan-out must not delete now for ``request`` (kept under a rule)."""
    return list(
        DeferredDeletion.objects.filter(request=request, done_at__isnull=True)
        .order_by("category")
        .values_list("category", flat=True)
    )


def schedule_deferred_deletions(*, request: RightsRequest) -> list[DeferredDeletion]:
    """Schedule the deletion of each retained category of ``request`` for the end of its
    period (once per category, however often this is called); audited."""
    if facts.active(request):  # the findings the approval's checks have just made current
        found = selectors.locked_findings(request)
        categories = sorted(f.key for f in found if f.check_name == "statutory_retention")
    else:
        categories = Finding.objects.filter(
            request=request, check_name="statutory_retention"
        ).values_list("key", flat=True)
    rules = RetentionRule.objects.filter(category__in=list(categories)).order_by("category")
    now = timezone.now()
    scheduled = []
    with transaction.atomic():
        for rule in rules:
            deferral, created = DeferredDeletion.objects.get_or_create(
                request=request,
                category=rule.category,
                defaults={
                    "name": rule.name,
                    "legal_basis": rule.legal_basis,
                    "due_at": now + relativedelta(months=rule.period_months),
                    "created_at": now,
                },
            )
            if created:
                scheduled.append(deferral)
        if scheduled:
            record_event(
                action="retention.deletion_deferred",
                actor=RETENTION,
                request_id=request.pk,
                payload={
                    "deferred": [
                        {"category": d.category, "due_at": d.due_at.isoformat()} for d in scheduled
                    ]
                },
            )
    return scheduled


# Who deletes a retained category once its period ends: the fan-out registers itself here
# (``dsar.effects``); legal knows no part above it.
CATEGORY_DELETERS: list = []


def when_period_ends(delete) -> None:
    """Register ``delete(request_id=, category=)``, run after a deferred deletion is claimed."""
    CATEGORY_DELETERS.append(delete)


def _delete_category(*, request_id, category: str) -> None:
    for delete in CATEGORY_DELETERS:
        delete(request_id=request_id, category=category)


def carry_out(*, deferral_id) -> bool:
    """Carry out one due deferred deletion, exactly once: claim it with a conditional update
    and act only if this call won. Returns whether it did."""
    now = timezone.now()
    with transaction.atomic():
        won = DeferredDeletion.objects.filter(
            pk=deferral_id, done_at__isnull=True, due_at__lte=now
        ).update(done_at=now)
        if not won:
            return False
        deferral = DeferredDeletion.objects.get(pk=deferral_id)
        record_event(
            action="retention.deferred_deletion_run",
            actor=RETENTION,
            request_id=deferral.request_id,
            payload={"category": deferral.category, "deferral_id": deferral.pk},
        )
        transaction.on_commit(
            lambda: _delete_category(request_id=deferral.request_id, category=deferral.category)
        )
    return True


def run_due_deletions(*, batch: int = 500) -> int:
    """Carry out every deferred deletion whose period has ended; safe to run twice or in
    parallel. Returns how many this run carried out."""
    due = DeferredDeletion.objects.filter(done_at__isnull=True, due_at__lte=timezone.now())
    ids = list(due.order_by("due_at").values_list("pk", flat=True)[:batch])
    return sum(carry_out(deferral_id=pk) for pk in ids)
