"""Cost fees for repeated requests: proposed only on a repeat finding, the subject told before
any work, the clock paused, and the request going on only once the subject accepted and the
payment was recorded; a withdrawal during the notice ends it."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from dsar.audit.models import AuditEvent
from dsar.legal import fees
from dsar.legal.errors import LegalInputError
from dsar.legal.models import Fee, FeeStatus
from dsar.notifications.models import OutboundEmail
from dsar.portal.services import reply_to_request, withdraw_request
from dsar.staff import services as staff
from dsar.workflow.models import RequestType, Status
from dsar.workflow.transitions import TransitionError
from tests.legal.support import findings_of

T = RequestType
# Tuesday 1 December 2026, 10:00 in Shanghai.
T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def repeated(verified):
    """The subject's third verified access request in twelve months, in review."""

    def make(**kwargs):
        verified(type=T.ACCESS, status=Status.COMPLETED, **kwargs)
        verified(type=T.ACCESS, status=Status.COMPLETED, **kwargs)
        return verified(type=T.ACCESS, **kwargs)

    return make


def finding_id(request):
    [finding] = findings_of(request, "repeated_requests")
    return finding.pk


def propose(request, user, **overrides):
    values = {"amount": "30.00", "reason": "Third copy of the same data this year."}
    values["finding"] = overrides.pop("finding", None) or finding_id(request)
    return fees.propose_fee(request=request, user=user, **{**values, **overrides})


def test_a_fee_on_a_repeat_tells_the_subject_and_pauses_the_clock(repeated, agent):
    with time_machine.travel(T0, tick=False):
        request = repeated()
        fee = propose(request, agent)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert request.paused_at == T0
    assert (fee.amount, fee.currency, fee.status) == (Decimal("30.00"), "CNY", FeeStatus.PROPOSED)
    [notice] = OutboundEmail.objects.filter(request_id=request.pk, template="fee_proposed")
    assert notice.to == "subject@example.com"
    assert "30.00 CNY" in notice.body
    assert "Third copy of the same data this year." in notice.body
    assert AuditEvent.objects.filter(request_id=request.pk, action="fee.proposed").exists()


def test_a_subject_with_only_a_phone_is_told_by_text(repeated, agent):
    request = repeated(email="", phone="+8613800138000")
    propose(request, agent)
    [notice] = OutboundEmail.objects.filter(request_id=request.pk, template="fee_proposed")
    assert notice.channel == "sms"
    assert "30.00 CNY" in notice.body


def test_no_fee_on_a_first_request_in_the_period(verified, agent):
    request = verified(type=T.ACCESS)
    assert findings_of(request, "repeated_requests") == []
    with pytest.raises(LegalInputError) as refused:
        fees.propose_fee(request=request, user=agent, amount="30", reason="x", finding=1)
    assert "finding" in refused.value.message_dict
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert not Fee.objects.exists()
    assert not OutboundEmail.objects.filter(template="fee_proposed").exists()


def test_a_finding_of_another_request_or_check_is_refused(repeated, verified, agent, report):
    other = repeated(email="other@example.com")
    request = repeated()
    with pytest.raises(LegalInputError) as refused:
        propose(request, agent, finding=finding_id(other))
    assert "finding" in refused.value.message_dict
    assert not Fee.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "10000.01"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
    ],
)
def test_bad_input_gets_a_field_message_and_changes_nothing(repeated, agent, overrides, field):
    request = repeated()
    with pytest.raises(LegalInputError) as refused:
        propose(request, agent, **overrides)
    assert field in refused.value.message_dict
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert not Fee.objects.exists()
    assert not AuditEvent.objects.filter(action="fee.proposed").exists()


def test_roles_outside_the_table_may_not_propose_or_record(repeated, staff_user, agent, legal):
    request = repeated()
    with pytest.raises(PermissionDenied):
        propose(request, staff_user("admin"))
    propose(request, legal)  # legal reviewers may propose
    fees.accept_fee(request=request)
    with pytest.raises(PermissionDenied):
        fees.record_payment(request=request, user=legal, reference="R-1")


def test_work_goes_on_only_after_acceptance_and_payment_and_the_deadline_moves(repeated, agent):
    with time_machine.travel(T0, tick=False):
        request = repeated()
        due_before = request.due_at
        propose(request, agent)
    with time_machine.travel(T0 + dt.timedelta(days=2), tick=False):
        # Neither staff nor a reply from the subject resumes the request before it is paid.
        with pytest.raises(TransitionError):
            staff.resume(request=request, user=agent)
        with pytest.raises(TransitionError):
            reply_to_request(request=request, message="Please just do it.")
        with pytest.raises(TransitionError):
            fees.record_payment(request=request, user=agent, reference="R-1")
        fees.accept_fee(request=request)
        request.refresh_from_db()
        assert request.status == Status.AWAITING_SUBJECT  # accepted, not yet paid
        with pytest.raises(TransitionError):
            staff.resume(request=request, user=agent)
    with time_machine.travel(T0 + dt.timedelta(days=3, hours=5), tick=False):
        fee = fees.record_payment(request=request, user=agent, reference="WX-2026-0001")
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert request.paused_at is None
    # Paused 3 days 5 hours: the last day moves by the three whole days (architecture.md),
    # from Wednesday 16 to Saturday 19 December 2026, a rest day, so on to Monday the 21st.
    assert request.paused_total == dt.timedelta(days=3, hours=5)
    assert due_before == dt.datetime(2026, 12, 16, 16, 0, tzinfo=dt.UTC)  # 24:00 on the 16th
    assert request.due_at == due_before + dt.timedelta(days=5)
    assert fee.status == FeeStatus.PAID
    assert fee.payment_recorded_by == agent
    assert fee.paid_at == T0 + dt.timedelta(days=3, hours=5)
    assert fee.payment_reference == "WX-2026-0001"
    paid = AuditEvent.objects.get(request_id=request.pk, action="fee.paid")
    assert "WX-2026-0001" not in str(paid.payload)
    staff.approve(request=request, user=agent)
    request.refresh_from_db()
    assert request.status == Status.PROCESSING


def test_payment_input_is_checked(repeated, agent):
    with time_machine.travel(T0, tick=False):
        request = repeated()
        propose(request, agent)
        fees.accept_fee(request=request)
        for kwargs, field in (
            ({"reference": " "}, "reference"),
            ({"reference": "r" * 101}, "reference"),
            ({"reference": "R", "paid_at": T0 + dt.timedelta(days=1)}, "paid_at"),
            ({"reference": "R", "paid_at": T0 - dt.timedelta(days=1)}, "paid_at"),
        ):
            with pytest.raises(LegalInputError) as refused:
                fees.record_payment(request=request, user=agent, **kwargs)
            assert field in refused.value.message_dict
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert Fee.objects.get().status == FeeStatus.ACCEPTED


def test_a_withdrawal_during_the_notice_ends_the_request(repeated, agent):
    request = repeated()
    propose(request, agent)
    withdraw_request(request=request)
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert request.closed_at is not None
    assert Fee.objects.get().status == FeeStatus.WITHDRAWN
    assert AuditEvent.objects.filter(request_id=request.pk, action="fee.withdrawn").exists()
    with pytest.raises(TransitionError):
        fees.accept_fee(request=request)


def test_a_fee_is_proposed_only_before_any_work(repeated, agent):
    request = repeated()
    staff.approve(request=request, user=agent)
    with pytest.raises(TransitionError):
        propose(request, agent)
    assert not Fee.objects.exists()


def test_accepting_twice_is_refused(repeated, agent):
    request = repeated()
    propose(request, agent)
    fees.accept_fee(request=request)
    with pytest.raises(TransitionError):
        fees.accept_fee(request=request)
