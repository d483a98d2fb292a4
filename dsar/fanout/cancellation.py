"""Account cancellation: the cooling-off period between approval and the work (SPEC §2).

Approval (``in_review`` → ``cooling_off``) stamps ``cooling_off_ends_at`` and tells the subject
how to withdraw. When the period ends, every system's ``check`` runs again (an order placed
during cooling-off still blocks); once all have answered, the request moves to ``processing``
— unless a blocking finding refuses it — and the fan-out runs ``close_account``, then
``delete`` (``anonymise`` where records are retained), see ``plan.STAGES``. A withdrawal
racing the end of the period meets the same row lock: exactly one of them applies.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor
from dsar.fanout.plan import recheck
from dsar.verification import notices
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


def start_cooling_off(request: RightsRequest, *, frm: str, to: str, now) -> list[str]:
    """Entering ``cooling_off``: stamp the end of the period (``DSAR_COOLING_OFF_DAYS``)."""
    request.cooling_off_ends_at = now + dt.timedelta(days=settings.DSAR_COOLING_OFF_DAYS)
    return ["cooling_off_ends_at"]


def tell_subject(request: RightsRequest) -> None:
    """Tell the verified channel: the account closes on a date; withdraw before then."""
    notices.notify(request, "cooling_off", ends_at=request.cooling_off_ends_at)


def end_cooling_off(*, now=None) -> int:
    """Beat: move on every cancellation whose cooling-off has ended; returns how many moved."""
    now = now or timezone.now()
    due = RightsRequest.objects.filter(
        status=Status.COOLING_OFF, cooling_off_ends_at__lte=now
    ).values_list("pk", flat=True)
    return sum(end_one(pk, now=now) for pk in list(due[:500]))


def end_one(request_id, *, now=None) -> bool:
    """Re-run the checks of one cancellation past its cooling-off, then start the work.

    Returns True if it moved to processing now; False while checks run, if a blocking
    finding or a failed check holds it for staff, or if it was withdrawn meanwhile.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            request = RightsRequest.objects.select_for_update().filter(pk=request_id).first()
            if request is None or request.status != Status.COOLING_OFF:
                return False
            if request.cooling_off_ends_at is None or request.cooling_off_ends_at > now:
                return False
            if not recheck(request, since=request.cooling_off_ends_at):
                return False
            transition(request, to=Status.PROCESSING, actor=Actor.system("cooling-off"))
    except TransitionError:
        return False  # withdrawn meanwhile, or a blocking finding: its state stands
    return True
