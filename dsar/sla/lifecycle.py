"""What a request's move does to its SLA clock (registered in ``dsar.effects``).

The clock starts when the identity is verified (counted from verification or from receipt, as
the request's response policy says), stops while staff wait for the subject (the
deadline then moves by the whole days waited), and ``sla_next_check_at`` is recomputed after every
move, so the sweep looks only at requests that cross a threshold.
"""

from dsar.sla import clock
from dsar.workflow.models import RightsRequest, Status


def enter(request: RightsRequest, *, frm: str, to: str, now) -> list[str]:
    """Set the clock fields that the move ``frm`` → ``to`` implies; return their names.

    Runs after every other entry of the move (it reads the final state of the row)."""
    changed = []
    if to == Status.IN_REVIEW and request.verified_at is None:
        request.verified_at = now
        request.due_at = clock.due_at_for(verified_at=now, request=request)
        changed += ["verified_at", "due_at"]
    if frm == Status.AWAITING_SUBJECT and request.paused_at is not None:
        # Time spent waiting for the subject does not count: it is added to the total, and the
        # deadline moves by the whole days that completes (docs/architecture.md, SLA clock).
        paused_after = clock.paused_so_far(request, now=now)
        request.due_at = clock.resumed_due_at(
            due_at=request.due_at, paused_before=request.paused_total, paused_after=paused_after
        )
        request.paused_total = paused_after
        request.paused_at = None
        changed += ["due_at", "paused_at", "paused_total"]
    if to == Status.AWAITING_SUBJECT:
        request.paused_at = now
        changed.append("paused_at")
    request.sla_next_check_at = clock.next_check_at(request, now=now)
    return [*changed, "sla_next_check_at"]
