"""Running the registered checks on a request and keeping its findings current.

The workflow calls ``run_checks`` when a request enters review and ``refuse_while_blocked``
right before it is approved (cooling-off) or starts processing; holds call ``run_checks``
again for the subject's open requests when they are placed or lifted.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.legal import selectors, sources
from dsar.legal.checks import CHECKS, Result
from dsar.legal.models import Finding
from dsar.workflow import facts, transitions
from dsar.workflow.models import RightsRequest
from dsar.workflow.transitions import TransitionError

ENGINE = Actor.system("legal-checks")


def _collect(request: RightsRequest) -> dict[tuple[str, str], Result]:
    """Every check's results, one per (check, key): a repeated key keeps the first."""
    results: dict[tuple[str, str], Result] = {}
    with sources.one_run():  # a fact several checks ask for is read once
        for check in CHECKS:
            for result in check(request):
                results.setdefault((check.__name__, result.key), result)
    return results


def _store(request: RightsRequest, name: str, key: str, result: Result, old, stage, now):
    fields = {
        "severity": result.severity,
        "legal_reference": result.legal_reference,
        "message": result.message,
        "params": result.params,
        "stage": stage,
        "checked_at": now,
    }
    if old is None:
        return Finding.objects.create(
            request=request, check_name=name, key=key, created_at=now, **fields
        )
    if old.severity != result.severity:
        # A finding that changed severity is a new question: an earlier override lapses.
        fields.update(overridden_by=None, overridden_at=None, override_reason="")
    for attr, value in fields.items():
        setattr(old, attr, value)
    old.save()
    return old


def run_checks(request: RightsRequest, *, stage: str, first: bool = False) -> list[Finding]:
    """Run every registered check on ``request`` and make its stored findings match.

    A finding the checks still produce is updated in place (an override of it stays valid
    while its severity is unchanged); one they no longer produce is removed; findings are
    never duplicated. A run that finds or clears anything is audited (check names, keys,
    severities and references only). Returns the current findings. ``first``: the request
    has just been verified, so it has no findings yet (only this engine makes them, and
    only for verified requests): there is nothing to read.
    """
    # No savepoint of its own: every caller runs it inside its own transaction or none, and
    # a failure here fails the caller's change too.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        results = _collect(request)
        if first:
            facts.known(request, selectors.FINDINGS, [])
        locked = [] if first else selectors.locked_findings(request)
        existing = {(f.check_name, f.key): f for f in locked}
        findings = [
            _store(request, name, key, result, existing.pop((name, key), None), stage, now)
            for (name, key), result in results.items()
        ]
        cleared = [{"check": name, "key": key} for name, key in existing]
        if existing:
            Finding.objects.filter(pk__in=[f.pk for f in existing.values()]).delete()
        facts.known(request, selectors.FINDINGS, findings)
        if not (findings or cleared):
            return []  # nothing found and nothing changed: nothing to audit
        record_event(
            action="legal.checks_run",
            actor=ENGINE,
            request_id=request.pk,
            payload={
                "stage": stage,
                "findings": [
                    {
                        "check": f.check_name,
                        "key": f.key,
                        "severity": f.severity,
                        "legal_reference": f.legal_reference,
                        "overridden": f.overridden_at is not None,
                    }
                    for f in findings
                ],
                "cleared": cleared,
            },
        )
    return findings


def refuse_while_blocked(request: RightsRequest) -> None:
    """Re-run the checks and raise ``TransitionError`` if a blocking finding stands that no
    legal reviewer has overridden (called under the request's row lock)."""
    findings = run_checks(request, stage="approval")  # every current finding of the request
    blockers = [f for f in findings if selectors.is_unresolved_blocking(f)]
    if blockers:
        names = ", ".join(sorted({f.check_name.replace("_", " ") for f in blockers}))
        raise TransitionError(
            f"Request {request.reference} cannot go ahead while blocking legal findings stand "
            f"({names}). Resolve them, or ask a legal reviewer to override them with a reason.",
            current=request.status,
        )


def recheck_open_requests(*, hashes: set[str]) -> int:
    """Re-run the checks on the open, verified requests of the subject with these hashes
    (e.g. after a hold changed), so staff see current findings. Returns how many ran."""
    hashes = {h for h in hashes if h}
    if not hashes:
        return 0
    ids = RightsRequest.objects.filter(status__in=transitions.LIVE_STATUSES).filter(
        Q(email_hash__in=hashes) | Q(phone_hash__in=hashes)
    )
    count = 0
    for pk in ids.values_list("pk", flat=True):
        with transaction.atomic():
            request = RightsRequest.objects.select_for_update().get(pk=pk)
            if request.status in transitions.LIVE_STATUSES:
                run_checks(request, stage="recheck")
                count += 1
    return count
