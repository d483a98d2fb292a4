"""Helpers shared by the legal tests."""

from dsar.legal.models import Finding
from dsar.legal.selectors import completes_partially
from dsar.workflow.models import Outcome, RightsRequest, Status
from dsar.workflow.transitions import transition
from tests.factories import actor_for, path_to


def walk(request, status):
    """Move a request that is in review on to ``status`` along the shortest legal path."""
    path = path_to(status, request.type)
    for to in path[1:] if path[:1] == [Status.IN_REVIEW] else path:
        # Completes as fan-out will: with the outcome the legal part says.
        outcome = legal_outcome(request) if to == Status.COMPLETED else ""
        transition(request, to=to, actor=actor_for(request.status, to), outcome=outcome)
    return request


def legal_outcome(request) -> str:
    """The outcome the legal part gives a request completing (``completes_partially``)."""
    rows = RightsRequest.objects.filter(pk=request.pk).annotate(partial=completes_partially())
    return Outcome.PARTIAL if rows.get().partial else Outcome.FULL


def findings_of(request, check: str = "") -> list[Finding]:
    found = Finding.objects.filter(request=request)
    return list(found.filter(check_name=check) if check else found)
