"""Building requests for tests, always through the product's own services."""

import factory

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.workflow.models import ANSWERED_TYPES, Outcome, RequestType, RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import TRANSITIONS, transition

S = Status

# The shortest walk from intake to each status (cancellations cool off before processing).
PATHS = {
    S.PENDING_VERIFICATION: [],
    S.IN_REVIEW: [S.IN_REVIEW],
    S.AWAITING_SUBJECT: [S.IN_REVIEW, S.AWAITING_SUBJECT],
    S.COOLING_OFF: [S.IN_REVIEW, S.COOLING_OFF],
    S.PROCESSING: [S.IN_REVIEW, S.PROCESSING],
    S.COMPLETED: [S.IN_REVIEW, S.PROCESSING, S.COMPLETED],
    S.DENIED: [S.IN_REVIEW, S.DENIED],
    S.WITHDRAWN: [S.WITHDRAWN],
    S.EXPIRED: [S.EXPIRED],
}

TEST_STAFF = Actor(ActorKind.STAFF, "test-staff")
ACTORS = {
    ActorKind.SUBJECT: Actor.subject(),
    ActorKind.STAFF: TEST_STAFF,
    ActorKind.SYSTEM: Actor.system("test"),
    ActorKind.DOWNSTREAM: Actor(ActorKind.DOWNSTREAM, "test-system"),
}


def path_to(status: str, type_: str) -> list[str]:
    path = list(PATHS[status])
    if type_ in ANSWERED_TYPES:  # answered in review: no work downstream
        return [s for s in path if s != S.PROCESSING]
    if type_ == RequestType.CANCELLATION and S.PROCESSING in path:
        path.insert(path.index(S.PROCESSING), S.COOLING_OFF)
    return path


def reachable(status: str, type_: str) -> bool:
    if type_ in ANSWERED_TYPES and status == S.PROCESSING:
        return False
    return status != S.COOLING_OFF or type_ == RequestType.CANCELLATION


def actor_for(frm: str, to: str) -> Actor:
    """An actor the table allows on this edge (the first in a fixed order)."""
    kinds = TRANSITIONS[(frm, to)].actors
    kind = next(k for k in (ActorKind.SUBJECT, ActorKind.STAFF, ActorKind.SYSTEM) if k in kinds)
    return ACTORS[kind]


class RightsRequestFactory(factory.Factory):
    class Meta:
        model = RightsRequest

    type = RequestType.DELETION
    email = factory.Sequence(lambda n: f"subject{n}@example.com")
    full_name = "Test Subject"
    status = S.PENDING_VERIFICATION

    @classmethod
    def _create(cls, model_class, *, status, **kwargs):
        request = create_request(**kwargs)
        for to in path_to(status, request.type):
            transition(
                request,
                to=to,
                actor=actor_for(request.status, to),
                outcome=Outcome.FULL if to == S.COMPLETED else "",
            )
        return request

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("Requests exist only through create_request; use create().")
