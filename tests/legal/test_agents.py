"""Requests filed by an authorised agent: who files for whom is recorded, the subject is asked
on the channel on file, and nothing is disclosed or deleted until the subject confirms."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from dsar.audit.models import AuditEvent
from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.legal import representation
from dsar.legal.errors import LegalInputError
from dsar.legal.models import Representation
from dsar.legal.selectors import advisories_to_acknowledge
from dsar.notifications.models import OutboundEmail
from dsar.staff import metrics
from dsar.staff import services as staff
from dsar.workflow.models import RequestType, Status
from dsar.workflow.transitions import TransitionError
from tests.support.subject import open_pages

T = RequestType


@pytest.fixture
def crm(db):
    return DownstreamSystem.objects.create(
        name="crm", kind="notify", actions=["export", "delete"], config="{}"
    )


def record(request, user, **overrides):
    values = {"name": "Wang Law Office", "authority": "Signed permission of 1 Dec 2026."}
    return representation.record_agent(request=request, user=user, **{**values, **overrides})


def test_an_agents_request_discloses_nothing_until_the_subject_confirms(
    verified, agent, api_as, client, crm
):
    request = verified(type=T.ACCESS, email="subject@example.com")
    record(request, agent)
    # The subject is asked on the channel the request holds for them, not the agent's.
    [ask] = OutboundEmail.objects.filter(request_id=request.pk, template="agent_confirm")
    assert ask.to == "subject@example.com" and "Wang Law Office" in ask.body
    with pytest.raises(TransitionError):
        staff.approve(request=request, user=agent)
    refused = api_as("supervisor").post(f"/api/v1/staff/requests/{request.pk}/approve/", {})
    assert refused.status_code == 409
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert not FanoutTask.objects.filter(request=request, action="export").exists()

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    open_pages(client, request)
    page = client.get(reverse("portal:status", kwargs={"pk": request.pk}))
    assert b"Wang Law Office says they act for you" in page.content
    confirmed = client.post(
        reverse("portal:confirm-agent", kwargs={"pk": request.pk}), {"confirm": "on"}
    )
    assert confirmed.status_code == 302
    assert Representation.objects.get().subject_confirmed_at is not None
    assert AuditEvent.objects.filter(action="representation.confirmed").exists()
    staff.approve(request=request, user=agent)
    assert FanoutTask.objects.filter(request=request, action="export").exists()
    detail = api_as("legal").get(f"/api/v1/staff/requests/{request.pk}/").json()
    assert detail["representation"]["kind"] == "agent"
    assert detail["representation"]["subject_confirmed_at"]
    [row] = metrics.yearly_representations()
    assert (row["kind"], row["received"], row["confirmed"]) == ("agent", 1, 1)


def test_a_deletion_by_an_agent_deletes_nothing_before_confirmation(verified, agent, crm):
    request = verified(type=T.DELETION)
    record(request, agent)
    acknowledged = [f.pk for f in advisories_to_acknowledge(request)]
    with pytest.raises(TransitionError):
        staff.approve(request=request, user=agent, acknowledged=acknowledged)
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert not FanoutTask.objects.filter(request=request, action="delete").exists()


def test_the_subject_refuses_by_withdrawing(verified, agent, client):
    request = verified(type=T.ACCESS)
    record(request, agent)
    open_pages(client, request)
    client.post(reverse("portal:withdraw", kwargs={"pk": request.pk}), {"confirm": "on"})
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    with pytest.raises(TransitionError):
        representation.confirm_by_subject(request=request)


def test_confirming_without_the_box_changes_nothing(verified, agent, client):
    request = verified(type=T.ACCESS)
    record(request, agent)
    open_pages(client, request)
    answer = client.post(reverse("portal:confirm-agent", kwargs={"pk": request.pk}), {})
    assert answer.status_code == 400
    assert Representation.objects.get().subject_confirmed_at is None


@pytest.mark.parametrize(
    "overrides, field",
    [({"name": " "}, "name"), ({"authority": ""}, "authority"), ({"name": "x" * 201}, "name")],
)
def test_bad_input_gets_field_messages_and_changes_nothing(verified, agent, overrides, field):
    request = verified(type=T.ACCESS)
    with pytest.raises(LegalInputError) as refused:
        record(request, agent, **overrides)
    assert field in refused.value.message_dict
    assert not Representation.objects.exists()
    assert not OutboundEmail.objects.filter(template="agent_confirm").exists()


def test_api_field_messages_roles_and_state(verified, api_as):
    request = verified(type=T.ACCESS)
    url = f"/api/v1/staff/requests/{request.pk}/record-agent/"
    legal = api_as("legal")
    missing = api_as("agent").post(url, {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) == {"name", "authority"}
    body = {"name": "Wang Law Office", "authority": "Signed permission."}
    assert api_as("admin").post(url, body, format="json").status_code == 403
    assert not Representation.objects.exists()
    assert legal.post(url, body, format="json").status_code == 200
    again = legal.post(url, body, format="json")
    assert again.status_code == 400 and "request" in again.json()["error"]["fields"]


def test_no_agent_once_the_work_started(verified, agent):
    request = verified(type=T.ACCESS)
    staff.approve(request=request, user=agent)
    with pytest.raises(TransitionError):
        record(request, agent)
    with pytest.raises(PermissionDenied):
        representation.record_agent(request=request, user=None, name="x", authority="y")


def test_the_staff_page_says_who_filed_and_whether_the_subject_confirmed(verified, agent, client):
    request = verified(type=T.ACCESS)
    record(request, agent)
    client.force_login(agent)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("staff:request", kwargs={"pk": request.pk})).content.decode()
    assert "Filed by an authorised agent: Wang Law Office." in page
    assert "Waiting for the subject to confirm" in page
    representation.confirm_by_subject(request=request)
    page = client.get(reverse("staff:request", kwargs={"pk": request.pk})).content.decode()
    assert "The subject confirmed it." in page
