"""Denial and partial fulfilment: a basis from the fixed list, an explanation, the subject
told both with the complaint route, in their language."""

import pytest
from django.core.exceptions import PermissionDenied

from dsar.audit.models import AuditEvent
from dsar.legal import decisions
from dsar.legal.errors import LegalInputError
from dsar.legal.models import Basis, Decision
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import Outcome, RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError
from tests.legal.support import walk

pytestmark = pytest.mark.django_db
EXPLANATION = "Your records are evidence in a pending lawsuit."


def deny(request, user, **overrides):
    fields = {"basis": Basis.LEGAL_OBLIGATION, "explanation": EXPLANATION}
    return decisions.deny_request(request=request, user=user, **{**fields, **overrides})


def snapshot(request):
    return (
        RightsRequest.objects.values().get(pk=request.pk),
        AuditEvent.objects.count(),
        OutboundEmail.objects.count(),
        Decision.objects.count(),
    )


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("basis", {"basis": ""}),
        ("basis", {"basis": "because"}),
        ("explanation", {"explanation": "   "}),
        ("basis_detail", {"basis": Basis.OTHER}),
    ],
)
def test_denial_without_basis_or_explanation_is_refused_and_changes_nothing(
    verified, legal, field, overrides
):
    request = verified(type=RequestType.DELETION)
    before = snapshot(request)
    with pytest.raises(LegalInputError) as error:
        deny(request, legal, **overrides)
    assert field in error.value.message_dict
    assert snapshot(request) == before


def test_agent_cannot_deny(verified, agent):
    request = verified(type=RequestType.DELETION)
    with pytest.raises(PermissionDenied):
        deny(request, agent)
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_denial_of_a_request_not_in_review_is_a_conflict_and_changes_nothing(verified, legal):
    request = verified(type=RequestType.DELETION, status=Status.PROCESSING)
    before = snapshot(request)
    with pytest.raises(TransitionError):
        deny(request, legal)
    assert snapshot(request) == before


def test_denial_closes_the_request_and_records_the_basis(verified, legal):
    request = verified(type=RequestType.DELETION)
    decision = deny(request, legal)
    assert request.status == Status.DENIED
    event = AuditEvent.objects.filter(request_id=request.pk, to_status=Status.DENIED).get()
    assert event.payload["basis"] == "legal_obligation"
    assert event.payload["decision_id"] == str(decision.pk)
    assert EXPLANATION not in str(event.payload)


def test_denial_email_carries_basis_explanation_and_complaint_route(verified, legal):
    request = verified(type=RequestType.DELETION, language="en")
    deny(request, legal)
    email = OutboundEmail.objects.get(request_id=request.pk, template="decision_denied")
    assert email.to == "subject@example.com"
    assert "Required to fulfil a legal obligation" in email.body
    assert EXPLANATION in email.body
    assert "people's court (PIPL Art. 50)" in email.body
    assert "privacy@example.com" in email.body


def test_denial_email_is_in_the_subjects_language(verified, legal):
    request = verified(type=RequestType.DELETION, language="zh-hans")
    deny(request, legal, basis=Basis.OTHER, basis_detail="《反洗钱法》第三十八条")
    email = OutboundEmail.objects.get(request_id=request.pk, template="decision_denied")
    assert email.subject == f"关于您的请求 {request.reference} 的决定"
    assert (
        "法律依据（GB/T 35273-2020 第8.7条）： 其他法律依据 — 《反洗钱法》第三十八条" in email.body
    )
    assert "向人民法院提起诉讼（《个人信息保护法》第五十条）" in email.body


def test_closure_reason_is_told_as_a_closure_not_a_legal_refusal(verified, legal):
    request = verified(type=RequestType.ACCESS, language="en")
    deny(request, legal, basis=Basis.NO_MATCH, explanation="We hold no data for this address.")
    email = OutboundEmail.objects.get(request_id=request.pk, template="decision_denied")
    assert "closed your request" in email.body
    assert "Reason: No data found for the identity given" in email.body


def test_partial_fulfilment_needs_what_was_left_out(verified, legal):
    request = verified(type=RequestType.ACCESS)
    with pytest.raises(LegalInputError) as error:
        decisions.record_partial_fulfilment(
            request=request,
            user=legal,
            basis=Basis.TRADE_SECRET,
            explanation="Fraud scoring models are trade secrets.",
            excluded="",
        )
    assert "excluded" in error.value.message_dict


def test_partial_fulfilment_completes_as_partial_and_tells_the_subject_why(verified, legal):
    request = verified(type=RequestType.ACCESS, language="en")
    decisions.record_partial_fulfilment(
        request=request,
        user=legal,
        basis=Basis.TRADE_SECRET,
        explanation="Fraud scoring models are trade secrets.",
        excluded="Your internal risk score.",
    )
    assert walk(request, Status.COMPLETED).outcome == Outcome.PARTIAL
    email = OutboundEmail.objects.get(request_id=request.pk, template="decision_partial")
    assert "Your internal risk score." in email.body
    assert "Would disclose trade secrets" in email.body
    assert "Fraud scoring models are trade secrets." in email.body
    assert "PIPL Art. 50" in email.body


def test_agent_cannot_record_a_partial_fulfilment(verified, agent):
    request = verified(type=RequestType.ACCESS)
    with pytest.raises(PermissionDenied):
        decisions.record_partial_fulfilment(
            request=request, user=agent, basis=Basis.TRADE_SECRET, explanation="x", excluded="y"
        )
