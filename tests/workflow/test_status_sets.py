"""Status sets used by other parts come from the transition table, so they cannot drift."""

from dsar.audit.models import ActorKind
from dsar.staff.selectors import ACTION_STATUSES
from dsar.workflow.models import TERMINAL_STATUSES, Status
from dsar.workflow.transitions import ENTERED_ONCE, LIVE_STATUSES, TRANSITIONS

MOVES = {  # staff action → the statuses it moves a request to
    "verify": {Status.IN_REVIEW},
    "approve": {Status.PROCESSING, Status.COOLING_OFF},
    "request_info": {Status.AWAITING_SUBJECT},
    "resume": {Status.IN_REVIEW},
    "deny": {Status.DENIED},
}


def test_live_statuses_are_the_open_ones_after_verification():
    assert {
        Status.IN_REVIEW, Status.AWAITING_SUBJECT, Status.COOLING_OFF, Status.PROCESSING
    } == LIVE_STATUSES  # fmt: skip
    assert not LIVE_STATUSES & TERMINAL_STATUSES


def test_every_offered_move_is_one_the_table_lets_staff_make():
    for action, targets in MOVES.items():
        assert ACTION_STATUSES[action], action
        for status in ACTION_STATUSES[action]:
            edges = [TRANSITIONS.get((status, to)) for to in targets]
            assert any(r and ActorKind.STAFF in r.actors for r in edges), (action, status)


def test_the_statuses_entered_once_are_those_no_edge_leads_back_to():
    # Review and its pause alternate; every other status is left for good. The fan-out
    # relies on processing being here: a request entering it has no work rows yet.
    assert {Status.IN_REVIEW, Status.AWAITING_SUBJECT} == set(Status) - ENTERED_ONCE
    assert Status.PROCESSING in ENTERED_ONCE
