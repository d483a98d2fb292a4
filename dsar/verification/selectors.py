"""Reads about a request's verification, for the other parts and the pages."""

from dsar.verification.models import Challenge, Evidence, EvidenceStatus, Verification
from dsar.workflow import facts
from dsar.workflow.models import RightsRequest

VERIFICATIONS = "verifications"  # the request's verifications, latest first (facts.once)


def _verifications(request: RightsRequest):
    return Verification.objects.filter(request=request).select_related("reviewer")


def latest_verification(request: RightsRequest) -> Verification | None:
    """The most recent successful verification of ``request``, or None if it has none.

    Its ``strength`` (see ``models.Strength``) and ``channel`` tell how the subject proved who
    they are; ``identity_hash`` is the keyed hash of the address that was proven. Inside
    ``facts.once`` the request's verifications are read once for this and
    ``staff_verifier_ids``.
    """
    if not facts.active(request):
        return _verifications(request).order_by("-created_at").first()
    rows = _all_verifications(request)
    return rows[0] if rows else None


def latest_proof(request: RightsRequest) -> Verification | None:
    """:func:`latest_verification` as the fan-out's proof reads it, how strong and which
    address only: outside ``facts.once`` without its reviewer's row."""
    if facts.active(request):
        return latest_verification(request)
    rows = Verification.objects.filter(request=request).only("strength", "identity_hash")
    return rows.order_by("-created_at").first()


def _all_verifications(request: RightsRequest) -> list[Verification]:
    return facts.read(
        request, VERIFICATIONS, lambda: list(_verifications(request).order_by("-created_at"))
    )


def latest_verifications(request_ids) -> dict:
    """The most recent verification of each of ``request_ids`` that has one, in one query."""
    latest: dict = {}
    for verification in Verification.objects.filter(request_id__in=list(request_ids)).order_by(
        "-created_at"
    ):
        latest.setdefault(verification.request_id, verification)
    return latest


def current_challenge(
    request: RightsRequest, *, for_update: bool = False, read_back: bool = False
) -> Challenge | None:
    """The one code-and-link pair that can still verify ``request`` (maybe expired/locked);
    with ``read_back``, the one code staff sent for the subject to read back to them."""
    challenges = Challenge.objects.filter(
        request=request, used_at__isnull=True, superseded_at__isnull=True, read_back=read_back
    ).order_by("-created_at")
    if for_update:
        challenges = challenges.select_for_update()
    return challenges.first()


def pending_evidence(request: RightsRequest) -> list[Evidence]:
    """Uploads of ``request`` waiting for a staff decision (their files stay in storage)."""
    return list(Evidence.objects.filter(request=request, status=EvidenceStatus.PENDING))


def staff_verifier_ids(request: RightsRequest) -> set[int]:
    """Ids of the staff members who verified ``request`` (by a document or a read-back code)."""
    if facts.active(request):
        return {v.reviewer_id for v in _all_verifications(request) if v.reviewer_id is not None}
    return set(
        Verification.objects.filter(request=request, reviewer__isnull=False).values_list(
            "reviewer_id", flat=True
        )
    )
