"""What the checks learn from other parts, behind small explicit interfaces.

Each function answers ``None`` when the part it reads is not present or has said nothing
yet ("unknown"), so a check can tell "no problem" from "cannot tell".

- Verification: ``latest_verification`` reads ``dsar.verification.selectors``,
  ``verified_hashes`` asks ``dsar.verification.proof``.
- Downstream systems: their ``check`` (dry run) results are stored here as
  ``DownstreamReport`` rows through ``reports.record_downstream_check``; the fan-out engine calls it
  after each ``check`` action (see ``dsar.legal.reports``).
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from dsar.legal.models import DownstreamReport, Representation, RepresentationKind
from dsar.verification.proof import proven_hashes
from dsar.verification.selectors import latest_verification as latest
from dsar.verification.selectors import latest_verifications
from dsar.workflow import facts
from dsar.workflow.models import RightsRequest

# Within one run of the checks (``one_run``) each fact is read once, however many checks ask.
_run: ContextVar[dict | None] = ContextVar("legal_sources_run", default=None)


@contextmanager
def one_run():
    """Read each fact once for the checks run inside this block (``engine.run_checks``)."""
    token = _run.set({})
    try:
        yield
    finally:
        _run.reset(token)


def _once(key: tuple, read):
    memo = _run.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def _latest(request: RightsRequest):
    return _once(("verification", request.pk), lambda: latest(request))


OBLIGATION_KINDS = ("balance", "open_order", "dispute")


@dataclass(frozen=True)
class VerificationFacts:
    method: str
    channel: str
    strength: str
    identity_hash: str


def latest_verification(request: RightsRequest) -> VerificationFacts | None:
    """How the subject last proved who they are, or None if unknown."""
    verification = _latest(request)
    if verification is None:
        return None
    return VerificationFacts(
        method=verification.method,
        channel=verification.channel,
        strength=verification.strength,
        identity_hash=verification.identity_hash or "",
    )


def who_filed(request: RightsRequest) -> Representation | None:
    """Who files ``request`` for its subject, if anyone (read once inside ``facts.once``,
    and once in a run of the checks; not read again when the request's row was read with it,
    ``select_related("representation")``)."""
    return _once(
        ("representation", request.pk),
        lambda: facts.read(request, "representation", lambda: _representation(request)),
    )


def _representation(request: RightsRequest) -> Representation | None:
    if RightsRequest.representation.is_cached(request):  # read with the request's row
        return getattr(request, "representation", None)  # None: it has none
    return Representation.objects.filter(request=request).first()


def subject_hashes(request: RightsRequest) -> set[str]:
    """The keyed hashes that identify the request's subject (email and phone).

    For a deceased subject's close relative the request's own contact is the relative's; the
    subject is the deceased, known by the identifiers recorded with the claim, so a hold on
    the deceased's data stops the relative's request too (``who_filed``: read once
    inside ``facts.once``)."""
    filer = who_filed(request) if request.pk else None
    if filer is not None and filer.kind == RepresentationKind.RELATIVE:
        return {h for h in (filer.deceased_email_hash, filer.deceased_phone_hash) if h}
    return {h for h in (request.email_hash, request.phone_hash) if h}


def verified_hashes(request: RightsRequest) -> set[str]:
    """The hashes the subject proved they control: the verified address when a code or link
    proved one, otherwise (staff review, or unknown) the request's own hashes. Verification
    answers it (``dsar.verification.proof``)."""
    return proven_hashes(request, verification=_latest(request))


def verified_hashes_of(requests: list[RightsRequest]) -> dict:
    """``verified_hashes`` of each of ``requests`` (by primary key), the verifications not yet
    read in this run read in one query."""
    memo = _run.get()
    known = {} if memo is None else {k[1]: v for k, v in memo.items() if k[0] == "verification"}
    unread = [r.pk for r in requests if r.pk not in known]
    records = {**known, **(latest_verifications(unread) if unread else {})}
    if memo is not None:
        memo.update({("verification", pk): records.get(pk) for pk in unread})
    return {r.pk: proven_hashes(r, verification=records.get(r.pk)) for r in requests}


def _reports(request: RightsRequest) -> list[DownstreamReport]:
    return _once(
        ("reports", request.pk),
        lambda: list(DownstreamReport.objects.filter(request=request).order_by("system")),
    )


def open_obligations(request: RightsRequest) -> list[dict] | None:
    """Open obligations (``{"system", "kind"}``) reported by downstream systems for the
    request's subject; an empty list when every reporting system has none; None if no
    system has reported yet."""
    reports = _reports(request)
    if not reports:
        return None
    return [
        {"system": report.system, "kind": str(item.get("kind", "other"))}
        for report in reports
        for item in report.obligations
    ]


def held_identity_hashes(request: RightsRequest) -> set[str] | None:
    """Keyed hashes of the emails and phones downstream systems hold for the account, or
    None if no system has said which identifiers it holds."""
    reports = [r for r in _reports(request) if r.identity_hashes]
    if not reports:
        return None
    return {h for report in reports for h in report.identity_hashes}


def held_categories(request: RightsRequest) -> set[str] | None:
    """Data categories downstream systems hold for the subject, or None if none said."""
    reports = [r for r in _reports(request) if r.categories]
    if not reports:
        return None
    return {c for report in reports for c in report.categories}


def uncovered_tables(request: RightsRequest) -> dict[str, list[str]]:
    """Per reporting system, the tables with personal columns its data map does not cover."""
    return {r.system: r.uncovered for r in _reports(request) if r.uncovered}
