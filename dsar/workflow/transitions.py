"""The lifecycle of a request (SPEC §3): the one transition table and the one function
that applies it. Nothing else in the product assigns ``RightsRequest.status``.
"""

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor, appended_together, record_event
from dsar.workflow import facts, hooks
from dsar.workflow.errors import Conflict
from dsar.workflow.models import (
    ANSWERED_TYPES,
    TERMINAL_STATUSES,
    Outcome,
    RequestType,
    RightsRequest,
    Status,
)

S, K, T = Status, ActorKind, RequestType
# The types approval sends to the work downstream (cancellation goes to cooling-off first;
# inquiries and complaints are answered instead).
NON_CANCELLATION = frozenset(T) - {T.CANCELLATION} - ANSWERED_TYPES
ALL_TYPES = frozenset(T)


@dataclass(frozen=True)
class Rule:
    """Who may move a request along one edge, for which request types."""

    actors: frozenset
    types: frozenset = ALL_TYPES
    when: str = ""
    # Actor kinds allowed on this edge for some of its types only: ((kind, types), ...).
    narrowed: tuple = ()

    def allows(self, kind: str, type: str) -> bool:
        if type not in self.types:
            return False
        return kind in self.actors or any(k == kind and type in t for k, t in self.narrowed)


TRANSITIONS: dict[tuple[str, str], Rule] = {
    (S.PENDING_VERIFICATION, S.IN_REVIEW): Rule(
        frozenset({K.SUBJECT, K.STAFF}), when="identity verified; the SLA clock starts"
    ),
    (S.PENDING_VERIFICATION, S.EXPIRED): Rule(
        frozenset({K.SYSTEM}), when="not verified within DSAR_VERIFY_EXPIRY_DAYS"
    ),
    (S.IN_REVIEW, S.PROCESSING): Rule(
        frozenset({K.STAFF}),
        NON_CANCELLATION,
        when="approved; an opt-out starts by itself once its channel is proven",
        narrowed=((K.SYSTEM, frozenset({T.MARKETING_OPT_OUT})),),
    ),
    (S.IN_REVIEW, S.COOLING_OFF): Rule(
        frozenset({K.STAFF}), frozenset({T.CANCELLATION}), when="cancellation approved"
    ),
    (S.COOLING_OFF, S.PROCESSING): Rule(frozenset({K.SYSTEM}), when="cooling-off over"),
    (S.IN_REVIEW, S.AWAITING_SUBJECT): Rule(
        frozenset({K.STAFF}), when="more information needed; the clock pauses"
    ),
    (S.AWAITING_SUBJECT, S.IN_REVIEW): Rule(
        frozenset({K.SUBJECT, K.STAFF}), when="subject replied or staff resumed"
    ),
    (S.IN_REVIEW, S.DENIED): Rule(
        frozenset({K.STAFF}), when="refused with a legal basis and an explanation"
    ),
    (S.IN_REVIEW, S.COMPLETED): Rule(
        frozenset({K.STAFF}), ANSWERED_TYPES, when="an inquiry or complaint answered"
    ),
    (S.PROCESSING, S.COMPLETED): Rule(
        frozenset({K.SYSTEM}), when="every downstream task reached a final state"
    ),
    **{
        (status, S.WITHDRAWN): Rule(frozenset({K.SUBJECT}), when="subject withdrew")
        for status in S
        if status not in TERMINAL_STATUSES
    },
}


def _reachable(start: str) -> frozenset[str]:
    seen, todo = {start}, [start]
    while todo:
        current = todo.pop()
        for frm, to in TRANSITIONS:
            if frm == current and to not in seen:
                seen.add(to)
                todo.append(to)
    return frozenset(seen)


# Status sets the other parts use, derived from the table so they cannot drift from it.
OPEN_STATUSES = frozenset(s for s in S if s not in TERMINAL_STATUSES)
# Verified and not yet closed: everything the verification edge leads to, while open.
LIVE_STATUSES = _reachable(S.IN_REVIEW) & OPEN_STATUSES
# The statuses a request enters at most once: no edge out of them leads back. What a status's
# entry creates (processing: the fan-out's work rows) then exists nowhere before it.
ENTERED_ONCE = frozenset(
    s for s in S if not any(frm == s and s in _reachable(to) for frm, to in TRANSITIONS)
)


def staff_sources(targets, *, frm=None) -> frozenset[str]:
    """The statuses from which staff may move a request to one of ``targets`` (restricted to
    ``frm`` when one edge of several into the same target is meant)."""
    return frozenset(
        source
        for (source, to), rule in TRANSITIONS.items()
        if to in targets and K.STAFF in rule.actors and (frm is None or source in frm)
    )


class TransitionError(Conflict):
    """A transition the lifecycle does not allow; nothing was changed."""

    def __init__(self, message: str, *, current: str = ""):
        super().__init__(message)
        self.current = current


def allowed_targets(request: RightsRequest, actor_kind: str) -> list[str]:
    """The statuses this actor kind may move the request to now (for offering actions)."""
    return [
        to
        for (frm, to), rule in TRANSITIONS.items()
        if frm == request.status and rule.allows(actor_kind, request.type)
    ]


def _check(request: RightsRequest, to: str, actor: Actor, outcome: str) -> None:
    rule = TRANSITIONS.get((request.status, to))
    label = f"{Status(request.status).label} → {Status(to).label}"
    if rule is None:
        raise TransitionError(
            f"Request {request.reference} is {request.status}; it cannot move to {to}.",
            current=request.status,
        )
    if request.type not in rule.types:
        raise TransitionError(
            f"A {request.type} request cannot move {label}.", current=request.status
        )
    if not rule.allows(actor.kind, request.type):
        raise TransitionError(
            f"Only {', '.join(sorted(rule.actors))} may move a request {label}.",
            current=request.status,
        )
    if to == S.COMPLETED and outcome not in Outcome.values:
        raise TransitionError("A completed request needs an outcome: full or partial.")


def _enter(request: RightsRequest, to: str, now, outcome: str) -> list[str]:
    """Set what entering ``to`` implies for the lifecycle itself; return the changed field
    names. What it implies for the parts (the SLA clock, cooling-off) is set by their entry
    hooks (``hooks.run_entries``)."""
    changed = ["status"]
    if to in TERMINAL_STATUSES:
        request.closed_at = now
        changed.append("closed_at")
    if to == S.COMPLETED:
        request.outcome = outcome
        changed.append("outcome")
    return changed


def lock(request: RightsRequest, *, annotate: dict | None = None) -> RightsRequest:
    """Inside a transaction: lock ``request``'s row until the transaction ends, re-read it
    under the lock into ``request`` and return it.

    :func:`transition` on this instance, in the same transaction, trusts the lock instead of
    taking it again (one query less). The caller must not change the row by other means in
    between; a savepoint rolled back past the lock drops the trust with the lock.
    ``annotate``: expressions read with the row, as ``QuerySet.annotate`` takes them (a part's
    question about the request, answered in the same query); each value is set on
    ``request`` under its name.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("lock() belongs inside transaction.atomic().")
    rows = RightsRequest.objects.all()
    if facts.active(request):
        # The representation (a reverse one-to-one) comes with the locked row, so the
        # approval's guard and answer read it without a query of their own; only the
        # request's row is locked, as before.
        rows = rows.select_related("representation").select_for_update(of=("self",))
    else:
        rows = rows.select_for_update()
    if annotate:
        rows = rows.annotate(**annotate)
    fresh = rows.get(pk=request.pk)
    for name in annotate or ():
        setattr(request, name, getattr(fresh, name))
    if facts.active(request):
        try:
            representation = fresh.representation
        except ObjectDoesNotExist:
            representation = None
        facts.known(request, "representation", representation)
    _copy(fresh, request)
    request._state.adding, request._state.db = False, fresh._state.db  # a saved row now
    request._row_lock = connection.atomic_blocks[-1]
    return request


def _locked(request: RightsRequest) -> bool:
    """True while the block :func:`lock` took ``request``'s lock in is still open."""
    block = getattr(request, "_row_lock", None)
    return block is not None and any(
        open_block is block for open_block in transaction.get_connection().atomic_blocks
    )


def _copy(source: RightsRequest, target: RightsRequest) -> None:
    for field in RightsRequest._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def transition(
    request: RightsRequest,
    *,
    to: str,
    actor: Actor,
    reason: str = "",
    outcome: str = "",
    payload: dict | None = None,
    savepoint: bool = True,
) -> RightsRequest:
    """Move ``request`` to ``to`` if the table allows it, and audit the move.

    Takes a row lock and re-reads the status under it (unless :func:`lock` took it in this
    transaction), so of two concurrent callers applying
    the same transition exactly one succeeds and the other gets a ``TransitionError``. The
    status change and its audit event commit together, or neither does. ``request`` is
    refreshed in place and returned. ``savepoint=False`` (inside a caller's transaction that
    is given up whole if the move fails, a refusal included: nothing more may run in it
    then): no savepoint of its own, two round trips less.
    """
    with transaction.atomic(savepoint=savepoint), appended_together():
        if _locked(request):
            locked = request  # locked and read under the lock in this transaction (lock())
        else:
            locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        _check(locked, to, actor, outcome)
        from_status = locked.status
        hooks.run_guards(locked, frm=from_status, to=to)
        locked.status = to
        now = timezone.now()
        changed = _enter(locked, to, now, outcome)
        changed += hooks.run_entries(locked, frm=from_status, to=to, now=now)
        locked.save(update_fields=[*changed, "updated_at"])
        event_payload = {"reference": locked.reference, **(payload or {})}
        if reason:
            event_payload["reason"] = reason
        if outcome:
            event_payload["outcome"] = outcome
        record_event(
            action="request.transition",
            actor=actor,
            request_id=locked.pk,
            from_status=from_status,
            to_status=to,
            payload=event_payload,
        )
        hooks.run_reactions(locked, frm=from_status, to=to)
    if locked is not request:
        _copy(locked, request)
    return request
