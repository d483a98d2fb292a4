"""Reads of the legal part, for the checks, the other parts and the staff pages."""

import datetime as dt

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q

from dsar.legal import sources
from dsar.legal.models import (
    Decision,
    DecisionKind,
    DeferredDeletion,
    Finding,
    LegalHold,
    RepresentationKind,
    RetentionRule,
    Severity,
)
from dsar.workflow import facts
from dsar.workflow.models import RequestType, RightsRequest, Status

FINDINGS = "findings"  # the request's findings, locked (facts.once)


def findings_for(request: RightsRequest) -> list[Finding]:
    """The request's current findings, blocking first (inside ``facts.once``, the ones the
    call has locked and kept current, in the same order)."""
    if facts.active(request):
        return sorted(locked_findings(request), key=_shown_order)
    return list(Finding.objects.filter(request=request).select_related("overridden_by"))


def _shown_order(finding: Finding) -> tuple:
    return tuple(getattr(finding, name) for name in Finding._meta.ordering)


def locked_findings(request: RightsRequest) -> list[Finding]:
    """The request's findings, locked until the caller's transaction ends (call inside one).

    Inside ``facts.once`` they are read once: the checks' engine keeps the list current when
    it changes them (``facts.known``), and approval's own questions (blocking obligations,
    advisories to acknowledge) are answered from it."""
    return facts.read(
        request,
        FINDINGS,
        lambda: list(
            Finding.objects.select_for_update(of=("self",))
            .filter(request=request)
            .select_related("overridden_by")
        ),
    )


def is_unresolved_blocking(finding: Finding) -> bool:
    """The rule of ``unresolved_blocking`` for one finding already read."""
    return finding.severity == Severity.BLOCKING and finding.overridden_at is None


def unresolved_blocking(request: RightsRequest) -> list[Finding]:
    """Blocking findings no legal reviewer has overridden: while any exists the request may
    not be approved or start processing."""
    return list(
        Finding.objects.filter(
            request=request, severity=Severity.BLOCKING, overridden_at__isnull=True
        )
    )


def systems_with_blocking_obligations(request: RightsRequest) -> list[str]:
    """Names of the downstream systems whose reported open obligation blocks the request and
    has not been overridden: their dry-run answer is what an approval asks again."""
    if facts.active(request):
        findings = [
            f
            for f in locked_findings(request)
            if f.check_name == "open_obligations" and is_unresolved_blocking(f)
        ]
    else:
        findings = Finding.objects.filter(
            request=request,
            check_name="open_obligations",
            severity=Severity.BLOCKING,
            overridden_at__isnull=True,
        )
    return sorted({str(f.params.get("system", "")) for f in findings} - {""})


def advisories_to_acknowledge(request: RightsRequest) -> list[Finding]:
    """The advisory findings staff acknowledge, one by one, before approving a deletion or a
    cancellation (it cannot be undone); none for the other types."""
    if request.type not in (RequestType.DELETION, RequestType.CANCELLATION):
        return []
    if facts.active(request):
        advisories = [f for f in locked_findings(request) if f.severity == Severity.ADVISORY]
        return sorted(advisories, key=_shown_order)
    return list(Finding.objects.filter(request=request, severity=Severity.ADVISORY))


def may_proceed(request: RightsRequest) -> bool:
    """False while an unresolved blocking finding exists (for fan-out to consult before it
    dispatches work, e.g. after a hold was placed on a request already processing)."""
    return not unresolved_blocking(request)


def active_holds_for(request: RightsRequest) -> list[LegalHold]:
    """Holds in force today on the request's subject (by email or phone hash)."""
    hashes = sources.subject_hashes(request)
    if not hashes:
        return []
    return list(
        LegalHold.objects.active()
        .filter(Q(email_hash__in=hashes) | Q(phone_hash__in=hashes))
        .order_by("created_at")
    )


def retention_rules_for(request: RightsRequest) -> list[RetentionRule]:
    """Active retention rules of the categories downstream systems report holding for the
    subject (none while no system has said what it holds)."""
    held = sources.held_categories(request)
    if not held:
        return []
    return list(RetentionRule.objects.filter(active=True, category__in=held).order_by("category"))


def verified_requests_of_subject(request: RightsRequest, *, since: dt.datetime) -> int:
    """How many requests of this type the subject had verified since ``since``, this one
    included if verified. Only requests verified for the same identity count: an unverified
    request (or one verified through another address) never counts against this subject.
    Withdrawn and expired requests never count.

    A request a deceased subject's relative filed is about the deceased: it counts the
    relatives' verified requests of this type for the same deceased (matched on any of the
    deceased's identifiers), whoever filed them, not the relative's own requests."""
    filer = sources.who_filed(request) if request.pk else None
    if filer is not None and filer.kind == RepresentationKind.RELATIVE:
        return _verified_requests_for_deceased(request, filer, since=since)
    hashes = sources.verified_hashes(request)
    if not hashes:
        return 0
    candidates = (
        RightsRequest.objects.filter(type=request.type, verified_at__gte=since)
        .exclude(status__in=[Status.WITHDRAWN, Status.EXPIRED])
        .filter(Q(email_hash__in=hashes) | Q(phone_hash__in=hashes))
    )
    return sum(
        1 for proven in sources.verified_hashes_of(list(candidates)).values() if proven & hashes
    )


def _verified_requests_for_deceased(request, filer, *, since: dt.datetime) -> int:
    same = Q()
    for field in ("email_hash", "phone_hash", "account_hash"):
        if value := getattr(filer, f"deceased_{field}"):
            same |= Q(**{f"representation__deceased_{field}": value})
    if not same:
        return 0
    return (
        RightsRequest.objects.filter(
            same,
            type=request.type,
            verified_at__gte=since,
            representation__kind=RepresentationKind.RELATIVE,
        )
        .exclude(status__in=[Status.WITHDRAWN, Status.EXPIRED])
        .count()
    )


def deferred_deletions_for(request: RightsRequest) -> list[DeferredDeletion]:
    return list(DeferredDeletion.objects.filter(request=request).order_by("category"))


def decision_for(request: RightsRequest, *, kind: str) -> Decision | None:
    return Decision.objects.filter(request=request, kind=kind).first()


def completes_partially() -> ExpressionWrapper:
    """For a queryset of requests (``annotate``; ``transitions.lock``): whether a request in
    processing completes ``partial`` as far as the legal part is concerned: categories were
    kept under a retention rule, or staff recorded a partial fulfilment."""
    kept = DeferredDeletion.objects.filter(request=OuterRef("pk"))
    limited = Decision.objects.filter(request=OuterRef("pk"), kind=DecisionKind.PARTIAL)
    return ExpressionWrapper(Q(Exists(kept)) | Q(Exists(limited)), output_field=BooleanField())
