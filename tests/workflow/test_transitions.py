"""The transition table of SPEC §3, tried for every (type, from, to) and actor kind."""

import datetime as dt
import itertools
import threading

import pytest
import time_machine
from django.db import connection

from dsar.audit.models import ActorKind, AuditEvent
from dsar.workflow.models import Outcome, RequestType, RightsRequest, Status
from dsar.workflow.transitions import TRANSITIONS, TransitionError, transition
from tests.factories import ACTORS, RightsRequestFactory, actor_for, reachable

CASES = [
    (type_, frm, to)
    for type_, frm, to in itertools.product(RequestType, Status, Status)
    if reachable(frm, type_)
]


def allowed(type_, frm, to, actor_kind) -> bool:
    rule = TRANSITIONS.get((frm, to))
    return rule is not None and rule.allows(actor_kind, type_)


def snapshot(request):
    row = RightsRequest.objects.values().get(pk=request.pk)
    return row, AuditEvent.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize(("type_", "frm", "to"), CASES, ids=lambda v: str(v))
def test_every_status_pair_follows_the_table(type_, frm, to):
    request = RightsRequestFactory.create(type=type_, status=frm)
    outcome = Outcome.PARTIAL if to == Status.COMPLETED else ""
    for kind, actor in ACTORS.items():
        if allowed(type_, frm, to, kind):
            continue
        before = snapshot(request)
        with pytest.raises(TransitionError):
            transition(request, to=to, actor=actor, outcome=outcome)
        assert snapshot(request) == before, f"{kind} changed something on a refused move"

    if not any(allowed(type_, frm, to, kind) for kind in ACTORS):
        assert request.status == frm
        return
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    actor = actor_for(frm, to)
    transition(request, to=to, actor=actor, outcome=outcome)

    assert RightsRequest.objects.get(pk=request.pk).status == to == request.status
    # Exactly one transition event (parts may audit what the move set off, e.g. fan-out).
    new_events = list(AuditEvent.objects.filter(id__gt=last_event, action="request.transition"))
    assert len(new_events) == 1
    event = new_events[0]
    assert (event.request_id, event.from_status, event.to_status) == (request.pk, frm, to)
    assert (event.actor_kind, event.actor_id) == (actor.kind, actor.id)


@pytest.mark.django_db
def test_verification_starts_the_clock_and_closing_stamps_closed_at():
    request = RightsRequestFactory.create(status=Status.PENDING_VERIFICATION)
    assert request.verified_at is None and request.due_at is None
    transition(request, to=Status.IN_REVIEW, actor=ACTORS[ActorKind.SUBJECT])
    assert request.verified_at is not None
    assert request.due_at > request.verified_at
    transition(request, to=Status.WITHDRAWN, actor=ACTORS[ActorKind.SUBJECT])
    assert request.closed_at is not None


@pytest.mark.django_db
def test_time_awaiting_the_subject_moves_the_deadline():
    staff, subject = ACTORS[ActorKind.STAFF], ACTORS[ActorKind.SUBJECT]
    t0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
    with time_machine.travel(t0, tick=False) as clock:
        request = RightsRequestFactory.create(status=Status.PENDING_VERIFICATION)
        transition(request, to=Status.IN_REVIEW, actor=subject)
        due = request.due_at
        assert due == dt.datetime(2026, 3, 17, 16, 0, tzinfo=dt.UTC)
        assert request.sla_next_check_at == due - dt.timedelta(days=3)
        clock.shift(dt.timedelta(days=2))
        transition(request, to=Status.AWAITING_SUBJECT, actor=staff)
        assert request.paused_at == t0 + dt.timedelta(days=2)
        assert request.sla_next_check_at is None  # the sweep ignores paused requests
        clock.shift(dt.timedelta(days=4, hours=3))
        transition(request, to=Status.IN_REVIEW, actor=subject)
    assert request.paused_at is None
    assert request.paused_total == dt.timedelta(days=4, hours=3)
    # Four whole days: Tue 17 March + 4 = Sat 21 March, a rest day, so the end of Mon 23 March.
    assert request.due_at == dt.datetime(2026, 3, 23, 16, 0, tzinfo=dt.UTC)
    assert RightsRequest.objects.get(pk=request.pk).due_at == request.due_at


@pytest.mark.django_db
def test_completion_without_an_outcome_is_refused():
    request = RightsRequestFactory.create(status=Status.PROCESSING)
    with pytest.raises(TransitionError, match="outcome"):
        transition(request, to=Status.COMPLETED, actor=ACTORS[ActorKind.SYSTEM])
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PROCESSING


@pytest.mark.django_db
def test_completion_records_the_outcome():
    request = RightsRequestFactory.create(status=Status.PROCESSING)
    transition(
        request, to=Status.COMPLETED, actor=ACTORS[ActorKind.SYSTEM], outcome=Outcome.PARTIAL
    )
    assert RightsRequest.objects.get(pk=request.pk).outcome == Outcome.PARTIAL


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_callers_cannot_both_apply_a_transition():
    request = RightsRequestFactory.create(status=Status.IN_REVIEW)
    barrier = threading.Barrier(2)
    results = []

    def pause():
        try:
            mine = RightsRequest.objects.get(pk=request.pk)
            barrier.wait(timeout=10)
            transition(mine, to=Status.AWAITING_SUBJECT, actor=ACTORS[ActorKind.STAFF])
            results.append("applied")
        except TransitionError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=pause) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["applied", "refused"]
    assert RightsRequest.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT
    moves = AuditEvent.objects.filter(request_id=request.pk, to_status=Status.AWAITING_SUBJECT)
    assert moves.count() == 1


def row_locks(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "workflow_rightsrequest"') and "FOR UPDATE" in q["sql"]
    ]


@pytest.mark.django_db
def test_a_transition_reuses_the_lock_its_caller_took_in_the_same_transaction():
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from dsar.workflow.transitions import lock

    request = RightsRequestFactory.create(status=Status.IN_REVIEW)
    stale = RightsRequest.objects.get(pk=request.pk)
    RightsRequest.objects.filter(pk=request.pk).update(status=Status.PROCESSING)
    with transaction.atomic():
        locked = lock(stale)  # re-read under the lock: the stale copy is brought up to date
        assert locked is stale and locked.status == Status.PROCESSING
        with CaptureQueriesContext(connection) as captured:
            transition(locked, to=Status.COMPLETED, actor=ACTORS[ActorKind.SYSTEM], outcome="full")
    assert row_locks(captured) == []
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED


@pytest.mark.django_db
def test_a_lock_rolled_back_with_its_savepoint_is_taken_again():
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from dsar.workflow.transitions import lock

    request = RightsRequestFactory.create(status=Status.IN_REVIEW)
    with transaction.atomic():
        try:
            with transaction.atomic():
                lock(request)
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        with CaptureQueriesContext(connection) as captured:
            transition(request, to=Status.AWAITING_SUBJECT, actor=ACTORS[ActorKind.STAFF])
    assert len(row_locks(captured)) == 1


def test_lock_refuses_to_run_outside_a_transaction(django_db_blocker):
    from dsar.workflow.transitions import lock

    with django_db_blocker.unblock(), pytest.raises(RuntimeError):
        lock(RightsRequest(pk="00000000-0000-0000-0000-000000000000"))
