"""Legal work from the request page: who is offered it, and that it does what it says."""

import pytest
from django.core import mail

from dsar.legal.models import Finding, LegalHold
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request


@pytest.fixture
def in_review(make_request):
    return make_request(status=Status.IN_REVIEW)


@pytest.mark.django_db
def test_agent_is_offered_no_denial_override_or_hold(client, staff_user, in_review):
    client.force_login(staff_user("agent"))
    page = client.get(f"/staff/requests/{in_review.pk}/").content.decode()
    for action in ("deny", "override", "hold"):
        assert f"/staff/requests/{in_review.pk}/{action}/" not in page
    response = client.post(
        f"/staff/requests/{in_review.pk}/hold/",
        {"kind": "litigation", "reference": "X-1", "reason": "court order"},
    )
    assert response.status_code == 302
    assert LegalHold.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_legal_denies_from_the_page_with_a_basis(client, staff_user, in_review):
    client.force_login(staff_user("legal"))
    page = client.get(f"/staff/requests/{in_review.pk}/").content.decode()
    assert f"/staff/requests/{in_review.pk}/deny/" in page
    mail.outbox.clear()
    client.post(
        f"/staff/requests/{in_review.pk}/deny/",
        {"basis": "trade_secret", "explanation": "The ranking model is a trade secret."},
    )
    assert RightsRequest.objects.get(pk=in_review.pk).status == Status.DENIED
    [email] = [m for m in mail.outbox if m.to == [in_review.email]]
    assert "The ranking model is a trade secret." in email.body


@pytest.mark.django_db
def test_denial_without_an_explanation_changes_nothing(client, staff_user, in_review):
    client.force_login(staff_user("legal"))
    response = client.post(
        f"/staff/requests/{in_review.pk}/deny/", {"basis": "trade_secret"}, follow=True
    )
    assert RightsRequest.objects.get(pk=in_review.pk).status == Status.IN_REVIEW
    assert b"required" in response.content or "必填".encode() in response.content


@pytest.mark.django_db
def test_hold_blocks_approval_until_legal_overrides(client, staff_user):
    legal, agent = staff_user("legal", "lee"), staff_user("agent", "ana")
    request = create_request(type="deletion", email="li@example.com")
    from dsar.audit.services import Actor
    from dsar.workflow.transitions import transition

    transition(request, to=Status.IN_REVIEW, actor=Actor.staff(agent))
    client.force_login(legal)
    client.post(
        f"/staff/requests/{request.pk}/hold/",
        {"kind": "litigation", "reference": "(2026)京0105民初1号", "reason": "Pending suit"},
    )
    assert LegalHold.objects.count() == 1
    finding = Finding.objects.get(request=request, severity="blocking")

    client.force_login(agent)
    client.post(f"/staff/requests/{request.pk}/approve/")
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW
    client.post(
        f"/staff/requests/{request.pk}/override/", {"finding_id": finding.pk, "reason": "x"}
    )
    assert Finding.objects.get(pk=finding.pk).overridden_at is None

    client.force_login(legal)
    client.post(
        f"/staff/requests/{request.pk}/override/",
        {"finding_id": finding.pk, "reason": "Court allowed deletion of marketing data"},
    )
    assert Finding.objects.get(pk=finding.pk).overridden_at is not None
    client.force_login(agent)
    client.post(f"/staff/requests/{request.pk}/approve/")
    assert RightsRequest.objects.get(pk=request.pk).status != Status.IN_REVIEW


@pytest.mark.django_db
def test_api_denial_without_a_basis_is_a_400_and_changes_nothing(api_as, in_review):
    response = api_as("legal").post(
        f"/api/v1/staff/requests/{in_review.pk}/deny/", {"explanation": "No."}, format="json"
    )
    assert response.status_code == 400
    assert "basis" in response.json()["error"]["fields"]
    assert RightsRequest.objects.get(pk=in_review.pk).status == Status.IN_REVIEW


@pytest.mark.django_db
def test_api_override_is_for_legal_only(api_as, staff_user):
    from dsar.audit.services import Actor
    from dsar.legal import holds
    from dsar.workflow.transitions import transition

    request = create_request(type="deletion", email="li@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    holds.place_hold_for_request(
        request=request, user=staff_user("legal", "lee"), kind="litigation",
        reference="C-9", reason="Suit",
    )  # fmt: skip
    finding = Finding.objects.get(request=request, severity="blocking")
    url = f"/api/v1/staff/requests/{request.pk}/override/"
    body = {"finding": finding.pk, "reason": "Court allowed it"}
    assert api_as("agent").post(url, body, format="json").status_code == 403
    assert api_as("supervisor").post(url, body, format="json").status_code == 403
    response = api_as("legal").post(url, body, format="json")
    assert response.status_code == 200 and response.json()["blocks"] is False


@pytest.mark.django_db
def test_holds_are_listed_and_lifted_through_the_api_by_legal_only(api_as, in_review):
    legal = api_as("legal")
    placed = legal.post(
        f"/api/v1/staff/requests/{in_review.pk}/hold/",
        {"kind": "litigation", "reference": "C-7", "reason": "Suit"},
        format="json",
    )
    hold_id = placed.json()["id"]
    assert api_as("agent").get("/api/v1/staff/holds/").status_code == 403
    assert [h["id"] for h in legal.get("/api/v1/staff/holds/").json()["results"]] == [hold_id]
    assert legal.post(f"/api/v1/staff/holds/{hold_id}/lift/", {}, format="json").status_code == 400
    lifted = legal.post(f"/api/v1/staff/holds/{hold_id}/lift/", {"reason": "Settled"},
                        format="json")  # fmt: skip
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
    assert LegalHold.objects.get(pk=hold_id).lift_reason == "Settled"
