"""Inquiries and complaints (issue 22, step 3): filed by the subject, answered by staff within
the policy's 30 days, in the queue and the metrics like any request."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.audit.services import Actor
from dsar.fanout.models import FanoutTask
from dsar.staff.models import StaffMessage
from dsar.workflow.models import Outcome, RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition
from tests.support.subject import code_from_outbox, latest_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]
SEED = importlib.import_module("dsar.sla.migrations.0009_seed_inquiry_policies")
UTC = dt.UTC


@pytest.fixture(autouse=True)
def policies():
    SEED.seed(apps, None)


def file_and_verify(type_="inquiry", **fields):
    api = APIClient()
    body = {"type": type_, "email": "wang@example.com", "description": "Why SMS ads?", **fields}
    filed = api.post("/api/v1/requests/", body, format="json")
    assert filed.status_code == 201, filed.json()
    pk = filed.json()["id"]
    code = code_from_outbox(pk)
    assert (
        api.post(f"/api/v1/requests/{pk}/verify/", {"code": code}, format="json").status_code == 200
    )
    return RightsRequest.objects.get(pk=pk)


@pytest.mark.parametrize("type_", ["inquiry", "complaint"])
def test_staff_answer_within_30_days_and_the_request_closes(type_, api_as):
    # Verified Mon 2 Mar 2026 10:00 Beijing: 30 days → Wed 1 Apr (a working day).
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, tzinfo=UTC), tick=False):
        request = file_and_verify(type_)
    assert request.status == Status.IN_REVIEW
    assert request.due_at == dt.datetime(2026, 4, 1, 16, tzinfo=UTC)
    assert not FanoutTask.objects.filter(request=request).exists()  # no dry run, no work
    agent = api_as("agent")
    detail = agent.get(f"/api/v1/staff/requests/{request.pk}/").json()
    assert "answer" in detail["allowed_actions"] and "approve" not in detail["allowed_actions"]
    with time_machine.travel(dt.datetime(2026, 3, 20, 2, tzinfo=UTC), tick=False):
        answered = agent.post(
            f"/api/v1/staff/requests/{request.pk}/answer/",
            {"body": "We send SMS offers only with your consent."},
            format="json",
        )
    assert answered.status_code == 200, answered.json()
    assert answered.json()["status"] == "completed"
    request.refresh_from_db()
    assert (request.status, request.outcome) == (Status.COMPLETED, Outcome.FULL)
    assert request.closed_at <= request.due_at
    assert StaffMessage.objects.get(request=request).body.startswith("We send SMS offers")
    email = latest_email(request.pk, "inquiry_answered")
    assert "We send SMS offers only with your consent." in email.body
    event = AuditEvent.objects.get(request_id=request.pk, action="inquiry.answered")
    assert "SMS" not in str(event.payload)  # the text is not in the audit trail


def test_an_empty_answer_or_a_role_without_it_changes_nothing(api_as):
    request = file_and_verify()
    empty = api_as("agent").post(
        f"/api/v1/staff/requests/{request.pk}/answer/", {"body": "  "}, format="json"
    )
    assert empty.status_code == 400 and "body" in empty.json()["error"]["fields"]
    admin = api_as("admin").post(
        f"/api/v1/staff/requests/{request.pk}/answer/", {"body": "x"}, format="json"
    )
    assert admin.status_code == 403
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_other_types_are_approved_not_answered(api_as):
    request = file_and_verify("access", description="")
    agent = api_as("agent")
    refused = agent.post(
        f"/api/v1/staff/requests/{request.pk}/answer/", {"body": "x"}, format="json"
    )
    assert refused.status_code == 409
    approved = agent.post(f"/api/v1/staff/requests/{request.pk}/approve/")
    assert approved.status_code == 200


def test_an_inquiry_cannot_be_approved_into_work(staff_user):
    request = file_and_verify()
    with pytest.raises(TransitionError):
        transition(request, to=Status.PROCESSING, actor=Actor.staff(staff_user("agent")))


def test_a_question_needs_its_text():
    answer = APIClient().post(
        "/api/v1/requests/", {"type": "complaint", "email": "a@example.com"}, format="json"
    )
    assert answer.status_code == 400
    assert "description" in answer.json()["error"]["fields"]
    assert not RightsRequest.objects.exists()


def test_inquiries_are_in_the_queue_filter_and_the_metrics(api_as):
    inquiry = file_and_verify()
    file_and_verify("deletion", email="other@example.com", description="")
    staff = api_as("supervisor")
    listed = staff.get("/api/v1/staff/requests/", {"type": "inquiry"}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [str(inquiry.pk)]
    metrics = staff.get("/api/v1/staff/metrics/").json()
    assert "inquiry" in str(metrics)


def test_the_staff_page_offers_the_answer_form(client, staff_user):
    request = file_and_verify()
    client.force_login(staff_user("agent"))
    client.cookies["django_language"] = "en"
    html = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "/answer/" in html and "Send the answer" in html
    answered = client.post(f"/staff/requests/{request.pk}/answer/", {"body": "Here it is."})
    assert answered.status_code in (302, 303)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
