"""Account cancellation: the cooling-off period between approval and the work (SPEC §2).

Approval (``in_review`` → ``cooling_off``) stamps ``cooling_off_ends_at`` and tells the subject
how to withdraw; when the period ends, beat moves the request to ``processing`` and the
fan-out runs ``close_account`` and ``delete``. A withdrawal racing the end of the period meets
the same row lock in ``transition()``: exactly one of them applies.
"""

from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor
from dsar.notifications.services import queue_email
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


def tell_subject(request: RightsRequest) -> None:
    """Email the verified channel: the account closes on a date; withdraw before then."""
    from dsar.verification.notices import status_url

    if request.email:
        queue_email(
            to=request.email,
            template="cooling_off",
            context={
                "reference": request.reference,
                "ends_at": request.cooling_off_ends_at,
                "status_url": status_url(request),
            },
            language=request.language,
            request_id=request.pk,
        )


def end_cooling_off(*, now=None) -> int:
    """Move every cancellation whose cooling-off has ended into processing."""
    now = now or timezone.now()
    due = RightsRequest.objects.filter(
        status=Status.COOLING_OFF, cooling_off_ends_at__lte=now
    ).values_list("pk", flat=True)
    moved = 0
    for pk in list(due[:500]):
        try:
            with transaction.atomic():
                request = RightsRequest.objects.get(pk=pk)
                transition(request, to=Status.PROCESSING, actor=Actor.system("cooling-off"))
            moved += 1
        except TransitionError:
            continue  # withdrawn (or otherwise moved) meanwhile: its state stands
    return moved
