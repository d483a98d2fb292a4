"""What a transition sets off in the other parts, in one readable place.

``transition()`` calls ``before`` under the row lock, before the status changes: a part may
refuse the move there by raising ``TransitionError`` (nothing is written). It calls ``after``
in the same database transaction once the new status is saved: parts record what follows from
the move and schedule their asynchronous work with ``transaction.on_commit``, so nothing is
published for a transition that rolls back.

Each part adds one line per status it reacts to; the imports are local because those parts
import the workflow models themselves.
"""

from dsar.audit.services import Actor
from dsar.workflow.models import (  # noqa: F401 (used by the hooks below)
    Outcome,
    RequestType,
    RightsRequest,
    Status,
)


def before(request: RightsRequest, *, frm: str, to: str, actor: Actor) -> None:
    """Guards a transition: raise TransitionError to refuse it."""
    if to in (Status.COOLING_OFF, Status.PROCESSING):
        from dsar.legal.engine import refuse_while_blocked  # legal checks re-run (SPEC §5)

        refuse_while_blocked(request)
    if to == Status.PROCESSING and request.type == RequestType.CORRECTION:
        from dsar.corrections.services import require_all_decided

        require_all_decided(request)


def after(request: RightsRequest, *, frm: str, to: str, actor: Actor) -> None:
    """Reacts to a transition inside its transaction."""
    if to == Status.IN_REVIEW:
        from dsar.fanout.services import start_checks
        from dsar.legal.engine import run_checks

        run_checks(request, stage="review")
        if frm == Status.PENDING_VERIFICATION:
            start_checks(request)  # downstream dry runs; their reports re-run the checks
    if to == Status.PROCESSING and request.type in (RequestType.DELETION, RequestType.CANCELLATION):
        from dsar.legal.retention import schedule_deferred_deletions

        schedule_deferred_deletions(request=request)
    if to == Status.COOLING_OFF:
        from dsar.fanout.cancellation import tell_subject

        tell_subject(request)
    if to == Status.PROCESSING:
        from dsar.fanout.services import start  # tasks published after commit (SPEC §6)

        start(request)
    if to == Status.COMPLETED and request.type == RequestType.CORRECTION:
        from dsar.corrections.services import tell_subject

        tell_subject(request)  # what changed, what was refused and why
    if to == Status.COMPLETED and request.type == RequestType.ACCESS:
        from dsar.exports.services import build_package

        build_package(request)  # the package and its link go to the subject
    if to == Status.COMPLETED and request.outcome == Outcome.PARTIAL:
        from dsar.legal.decisions import tell_partial_outcome

        tell_partial_outcome(request)
