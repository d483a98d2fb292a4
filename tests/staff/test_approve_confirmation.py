"""Approving a deletion or a cancellation: a confirmation step shows the systems, their
actions and the findings, and every advisory finding must be acknowledged (page and API)."""

import json

import pytest

from dsar.audit.models import AuditEvent
from dsar.fanout.models import DownstreamSystem
from dsar.legal.models import Finding, Severity
from dsar.portal.services import file_request
from dsar.verification.services import verify_code
from dsar.workflow.models import RequestType, RightsRequest, Status
from tests.support.subject import code_from_outbox


@pytest.fixture
def deletion(db, fresh_limits):
    for name in ("partner-mail", "crm-mail"):
        DownstreamSystem.objects.create(
            name=name, kind="notify", actions=["delete"],
            config=json.dumps({"recipient": f"privacy@{name}.example.com"}),
        )  # fmt: skip
    request = file_request(type=RequestType.DELETION, email="li.lei@example.com")
    verify_code(request=request, code=code_from_outbox(request.pk))
    # The real checks ran on entering review: nothing downstream has confirmed the address.
    [advisory] = Finding.objects.filter(request=request, severity=Severity.ADVISORY)
    assert advisory.check_name == "verification_strength"
    return request


@pytest.mark.django_db
def test_the_request_page_leads_to_a_confirmation_listing_systems_actions_and_findings(
    client, staff_user, deletion
):
    client.force_login(staff_user("agent"))
    page = client.get(f"/staff/requests/{deletion.pk}/").content.decode()
    confirm = f"/staff/requests/{deletion.pk}/confirm-approval/"
    assert f'href="{confirm}"' in page
    assert f'<form method="post" action="/staff/requests/{deletion.pk}/approve/">' not in page
    shown = client.get(confirm, headers={"accept-language": "en"}).content.decode()
    assert "This cannot be undone" in shown
    assert "<td>partner-mail</td><td>Delete</td>" in shown
    assert "<td>crm-mail</td><td>Delete</td>" in shown
    advisory = Finding.objects.get(request=deletion, severity=Severity.ADVISORY)
    assert f'name="acknowledged" value="{advisory.pk}"' in shown
    assert "no downstream system has said which addresses it holds" in shown


@pytest.mark.django_db
def test_approval_without_the_acknowledgement_is_refused_and_changes_nothing(
    client, staff_user, deletion
):
    client.force_login(staff_user("agent"))
    answer = client.post(f"/staff/requests/{deletion.pk}/approve/", follow=True)
    assert answer.redirect_chain[-1][0] == f"/staff/requests/{deletion.pk}/confirm-approval/"
    assert "请确认咨询性发现" in answer.content.decode()
    assert RightsRequest.objects.get(pk=deletion.pk).status == Status.IN_REVIEW
    assert not AuditEvent.objects.filter(request_id=deletion.pk, to_status="processing").exists()


@pytest.mark.django_db
def test_approval_with_every_advisory_acknowledged_goes_ahead_and_is_audited(
    client, staff_user, deletion
):
    client.force_login(staff_user("agent"))
    advisory = Finding.objects.get(request=deletion, severity=Severity.ADVISORY)
    client.post(f"/staff/requests/{deletion.pk}/approve/", {"acknowledged": [advisory.pk]})
    assert RightsRequest.objects.get(pk=deletion.pk).status == Status.PROCESSING
    event = AuditEvent.objects.get(
        request_id=deletion.pk, action="approval.advisories_acknowledged"
    )
    assert event.payload == {"findings": ["verification_strength"]}


@pytest.mark.django_db
def test_the_api_needs_the_same_acknowledgement(api_as, deletion):
    api = api_as("agent")
    url = f"/api/v1/staff/requests/{deletion.pk}/approve/"
    refused = api.post(url, {}, format="json")
    assert refused.status_code == 400
    [message] = refused.json()["error"]["fields"]["acknowledged"]
    assert "身份验证强度" in message  # the check, by its name in the active language
    wrong = api.post(url, {"acknowledged": ["x"]}, format="json")
    assert wrong.status_code == 400 and "acknowledged" in wrong.json()["error"]["fields"]
    assert RightsRequest.objects.get(pk=deletion.pk).status == Status.IN_REVIEW
    advisory = Finding.objects.get(request=deletion, severity=Severity.ADVISORY)
    approved = api.post(url, {"acknowledged": [advisory.pk]}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "processing"


@pytest.mark.django_db
def test_an_access_request_is_still_approved_in_one_step(api_as, make_request):
    request = make_request(status=Status.IN_REVIEW, type=RequestType.ACCESS)
    answer = api_as("agent").post(f"/api/v1/staff/requests/{request.pk}/approve/")
    assert answer.status_code == 200 and answer.json()["status"] == "processing"
