"""The check engine: when it runs, how findings are kept, and how they stop a request."""

import pytest
from django.core.exceptions import PermissionDenied

from dsar.audit.models import AuditEvent
from dsar.audit.services import Actor
from dsar.legal import decisions, holds
from dsar.legal.engine import run_checks
from dsar.legal.errors import LegalInputError
from dsar.legal.models import Finding, HoldKind
from dsar.staff import services as staff_services
from dsar.workflow.models import RequestType, Status
from dsar.workflow.transitions import TransitionError, transition
from tests.legal.support import findings_of

pytestmark = pytest.mark.django_db
T = RequestType


def place_hold(user, email="subject@example.com"):
    return holds.place_hold(
        user=user,
        email=email,
        kind=HoldKind.INVESTIGATION,
        reason="Police request",
        reference="PSB-2025-77",
    )


@pytest.fixture
def blocked(verified, report):
    """A deletion in review with one blocking finding: verified through an address the
    platform does not hold for the account."""
    request = verified(type=T.DELETION, email="typed@example.com")
    report(request, holds=["on-file@example.com"])
    return request


def test_checks_run_when_a_request_enters_review(verified, legal):
    place_hold(legal)
    request = verified(type=T.DELETION)
    assert [f.stage for f in findings_of(request, "legal_hold")] == ["review"]


def test_rerunning_checks_replaces_findings_instead_of_duplicating(verified, legal):
    place_hold(legal)
    request = verified(type=T.DELETION)
    run_checks(request, stage="again")
    run_checks(request, stage="again")
    assert Finding.objects.filter(request=request, check_name="legal_hold").count() == 1
    assert findings_of(request, "legal_hold")[0].stage == "again"


def test_a_finding_whose_cause_is_gone_is_removed_on_rerun(verified, legal):
    hold = place_hold(legal)
    request = verified(type=T.DELETION)
    holds.lift_hold(hold=hold, user=legal, reason="Investigation closed")
    assert findings_of(request, "legal_hold") == []


def test_check_runs_are_audited_without_personal_data(verified, legal):
    place_hold(legal)
    request = verified(type=T.DELETION, email="subject@example.com")
    event = AuditEvent.objects.filter(request_id=request.pk, action="legal.checks_run").last()
    found = {(f["check"], f["severity"]) for f in event.payload["findings"]}
    assert ("legal_hold", "blocking") in found
    assert "subject@example.com" not in str(event.payload)


def test_blocking_finding_stops_approval(blocked, agent):
    with pytest.raises(TransitionError, match="verification strength"):
        staff_services.approve(request=blocked, user=agent)
    blocked.refresh_from_db()
    assert blocked.status == Status.IN_REVIEW


def test_agent_cannot_override_a_blocking_finding(blocked, agent):
    [finding] = findings_of(blocked, "verification_strength")
    with pytest.raises(PermissionDenied):
        decisions.override_finding(finding=finding, user=agent, reason="Looks fine")
    finding.refresh_from_db()
    assert finding.overridden_at is None


def test_legal_override_with_a_reason_lets_the_request_proceed(blocked, legal, agent):
    [finding] = findings_of(blocked, "verification_strength")
    decisions.override_finding(finding=finding, user=legal, reason="Address confirmed by phone")
    staff_services.approve(request=blocked, user=agent)
    assert blocked.status == Status.PROCESSING
    assert findings_of(blocked, "verification_strength")[0].override_reason == (
        "Address confirmed by phone"
    )


def test_override_without_a_reason_is_refused(blocked, legal):
    [finding] = findings_of(blocked, "verification_strength")
    with pytest.raises(LegalInputError):
        decisions.override_finding(finding=finding, user=legal, reason="  ")
    finding.refresh_from_db()
    assert finding.overridden_at is None


def test_override_is_audited(blocked, legal):
    [finding] = findings_of(blocked, "verification_strength")
    decisions.override_finding(finding=finding, user=legal, reason="Confirmed")
    event = AuditEvent.objects.get(action="legal.finding_overridden")
    assert (event.actor_id, event.payload["check"]) == (str(legal.pk), "verification_strength")


def test_hold_placed_during_cooling_off_stops_processing(verified, legal):
    request = verified(type=T.CANCELLATION, status=Status.COOLING_OFF)
    place_hold(legal)
    assert [f.stage for f in findings_of(request, "legal_hold")] == ["recheck"]
    with pytest.raises(TransitionError, match="legal hold"):
        transition(request, to=Status.PROCESSING, actor=Actor.system("cooling-off"))
    request.refresh_from_db()
    assert request.status == Status.COOLING_OFF


def test_hold_placed_during_processing_tells_fanout_to_stop(verified, legal):
    from dsar.legal.selectors import may_proceed

    request = verified(type=T.DELETION, status=Status.PROCESSING)
    assert may_proceed(request)
    place_hold(legal)
    assert not may_proceed(request)
