"""Cost fees through the staff API, the staff request page, the subject's status page and
the yearly metrics."""

import pytest
from django.urls import reverse

from dsar.legal.models import Fee, FeeStatus
from dsar.staff import metrics
from dsar.workflow.models import RequestType, Status
from tests.legal.support import findings_of
from tests.support.subject import open_pages

T = RequestType


@pytest.fixture
def repeated(verified):
    verified(type=T.ACCESS, status=Status.COMPLETED)
    verified(type=T.ACCESS, status=Status.COMPLETED)
    return verified(type=T.ACCESS)


def api_url(request, action):
    return f"/api/v1/staff/requests/{request.pk}/{action}/"


def repeat_id(request):
    [finding] = findings_of(request, "repeated_requests")
    return finding.pk


def test_api_proposes_pays_and_counts_a_fee(repeated, api_as, client):
    agent = api_as("agent")
    detail = agent.get(f"/api/v1/staff/requests/{repeated.pk}/").json()
    assert "propose_fee" in detail["allowed_actions"] and detail["fee"] is None
    answer = agent.post(
        api_url(repeated, "propose-fee"),
        {"amount": "25.50", "reason": "Third request this year.", "finding": repeat_id(repeated)},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == Status.AWAITING_SUBJECT
    assert body["fee"]["amount"] == "25.50" and body["fee"]["status"] == "proposed"
    assert "resume" not in body["allowed_actions"]
    assert "record_fee_payment" not in body["allowed_actions"]
    # Not accepted yet: recording a payment is a conflict, not a change.
    refused = agent.post(api_url(repeated, "record-fee-payment"), {"reference": "R"})
    assert refused.status_code == 409
    # The subject accepts on the status page.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    open_pages(client, repeated)
    page = client.get(reverse("portal:status", kwargs={"pk": repeated.pk}))
    assert b"25.50 CNY" in page.content and b"Accept the fee" in page.content
    assert b"Send reply" not in page.content
    accepted = client.post(
        reverse("portal:accept-fee", kwargs={"pk": repeated.pk}), {"confirm": "on"}
    )
    assert accepted.status_code == 302
    assert Fee.objects.get().status == FeeStatus.ACCEPTED
    detail = agent.get(f"/api/v1/staff/requests/{repeated.pk}/").json()
    assert "record_fee_payment" in detail["allowed_actions"]
    paid = agent.post(api_url(repeated, "record-fee-payment"), {"reference": "WX-1"}, format="json")
    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] == Status.IN_REVIEW
    assert paid.json()["fee"]["payment_recorded_by"] == "agent-user"
    [row] = metrics.yearly_fees()
    assert (row["proposed"], row["accepted"], row["paid"], row["withdrawn"]) == (1, 1, 1, 0)
    assert (row["currency"], row["paid_amount"]) == ("CNY", "25.50")
    assert api_as("supervisor").get("/api/v1/staff/metrics/").json()["fees"] == [row]


def test_api_bad_input_gets_field_messages_and_changes_nothing(repeated, api_as):
    agent = api_as("agent")
    answer = agent.post(
        api_url(repeated, "propose-fee"),
        {"amount": "-1", "currency": "ABC", "reason": "Why", "finding": repeat_id(repeated)},
        format="json",
    )
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert set(fields) >= {"amount", "currency"}
    missing = agent.post(api_url(repeated, "propose-fee"), {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) >= {"amount", "reason", "finding"}
    repeated.refresh_from_db()
    assert repeated.status == Status.IN_REVIEW
    assert not Fee.objects.exists()


def test_api_refuses_a_fee_on_a_first_request(verified, api_as):
    first = verified(type=T.ACCESS)
    answer = api_as("agent").post(
        api_url(first, "propose-fee"), {"amount": "10", "reason": "x", "finding": 1}, format="json"
    )
    assert answer.status_code == 400
    assert "finding" in answer.json()["error"]["fields"]
    assert not Fee.objects.exists()


def test_api_roles(repeated, api_as):
    answer = api_as("admin").post(
        api_url(repeated, "propose-fee"),
        {"amount": "10", "reason": "x", "finding": repeat_id(repeated)},
        format="json",
    )
    assert answer.status_code == 403
    assert not Fee.objects.exists()


def test_subject_withdraws_from_the_status_page_during_the_notice(repeated, api_as, client):
    api_as("agent").post(
        api_url(repeated, "propose-fee"),
        {"amount": "10", "reason": "Repeat.", "finding": repeat_id(repeated)},
        format="json",
    )
    open_pages(client, repeated)
    client.post(reverse("portal:withdraw", kwargs={"pk": repeated.pk}), {"confirm": "on"})
    repeated.refresh_from_db()
    assert repeated.status == Status.WITHDRAWN
    assert Fee.objects.get().status == FeeStatus.WITHDRAWN
    assert metrics.yearly_fees()[0]["withdrawn"] == 1


def test_accepting_without_the_box_is_a_field_error(repeated, api_as, client):
    api_as("agent").post(
        api_url(repeated, "propose-fee"),
        {"amount": "10", "reason": "Repeat.", "finding": repeat_id(repeated)},
        format="json",
    )
    open_pages(client, repeated)
    answer = client.post(reverse("portal:accept-fee", kwargs={"pk": repeated.pk}), {})
    assert answer.status_code == 400
    assert Fee.objects.get().status == FeeStatus.PROPOSED


def test_staff_page_offers_and_takes_the_fee(repeated, staff_user, client):
    client.force_login(staff_user("agent"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("staff:request", kwargs={"pk": repeated.pk}))
    assert b"Propose the fee" in page.content
    client.post(
        reverse("staff:act", kwargs={"pk": repeated.pk, "action": "propose-fee"}),
        {"amount": "12", "currency": "CNY", "reason": "Repeat.", "finding": repeat_id(repeated)},
    )
    fee = Fee.objects.get()
    assert fee.amount == 12 and fee.proposed_by.username == "agent-user"
    page = client.get(reverse("staff:request", kwargs={"pk": repeated.pk}))
    assert b"12.00 CNY" in page.content and b"Propose the fee" not in page.content
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    page = client.get(reverse("staff:request", kwargs={"pk": repeated.pk}))
    assert "重复请求的费用" in page.content.decode()
