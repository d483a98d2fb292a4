"""Reads about a request's verification, for the other parts and the pages."""

from dsar.verification.models import Challenge, Evidence, EvidenceStatus, Verification
from dsar.workflow.models import RightsRequest


def latest_verification(request: RightsRequest) -> Verification | None:
    """The most recent successful verification of ``request``, or None if it has none.

    Its ``strength`` (see ``models.Strength``) and ``channel`` tell how the subject proved who
    they are; ``identity_hash`` is the keyed hash of the address that was proven.
    """
    return (
        Verification.objects.filter(request=request)
        .select_related("reviewer")
        .order_by("-created_at")
        .first()
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
    return set(
        Verification.objects.filter(request=request, reviewer__isnull=False).values_list(
            "reviewer_id", flat=True
        )
    )
