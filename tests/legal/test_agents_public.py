"""An authorised agent on the public form and API: the contact given is the subject's, the
subject is asked to confirm there, and nothing is done until they confirm (the same rule as
for an agent staff record: ``dsar.legal.representation``)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.legal import representation
from dsar.legal.models import Representation, RepresentationDocument
from dsar.notifications.models import OutboundEmail
from dsar.staff import services as staff
from dsar.verification import tokens
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.django_db
SUBJECT = "subject@example.com"
PDF = b"%PDF-1.4\n" + b"0" * 200


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path, fresh_limits):
    settings.DSAR_EVIDENCE_DIR = str(tmp_path / "evidence")


def agent_body(**overrides):
    body = {
        "type": "access", "email": SUBJECT, "language": "en", "filed_as": "agent",
        "agent_name": "Wang Law Office", "agent_authority": "Signed permission of 1 Dec 2026.",
    }  # fmt: skip
    return {**body, **overrides}


def test_an_agent_filed_on_the_api_is_held_until_the_subject_confirms(client, staff_user):
    DownstreamSystem.objects.create(name="crm", kind="notify", actions=["export"], config="{}")
    permission = SimpleUploadedFile("permission.pdf", PDF, "application/pdf")
    filed = client.post("/api/v1/requests/", agent_body(agent_permission=permission),
                        format="multipart")  # fmt: skip
    assert filed.status_code == 201, filed.content
    assert filed.json()["status_token"] == ""  # the agent gets no key to the request
    request = RightsRequest.objects.get(pk=filed.json()["id"])
    sent = OutboundEmail.objects.filter(request_id=request.pk)
    assert {m.to for m in sent} == {SUBJECT}
    assert {"receipt", "code", "agent_confirm"} <= {m.template for m in sent}
    [document] = RepresentationDocument.objects.all()
    assert document.kind == "agent_permission" and document.content_type == "application/pdf"
    code = code_from_outbox(request.pk)
    assert client.post(f"/api/v1/requests/{request.pk}/verify/", {"code": code}).status_code == 200
    agent = staff_user("agent")
    with pytest.raises(TransitionError):
        staff.approve(request=request, user=agent)
    assert not FanoutTask.objects.filter(request=request, action="export").exists()
    representation.confirm_by_subject(request=request)
    staff.approve(request=request, user=agent)
    assert FanoutTask.objects.filter(request=request, action="export").exists()


def test_the_portal_form_gives_the_agent_no_key_to_the_subjects_pages(client):
    form = agent_body()
    form.pop("type")
    answer = client.post(reverse("portal:file", kwargs={"type": "deletion"}), form,
                         HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert answer.status_code == 200
    assert b"They confirm the request themselves" in answer.content
    request = RightsRequest.objects.get()
    assert Representation.objects.get(request=request).kind == "agent"
    assert tokens.opened_request_id(answer.wsgi_request, request.pk) is None
    assert not any(name.startswith("dsar") for name in answer.cookies)
    status = client.get(reverse("portal:status", kwargs={"pk": request.pk}))
    assert b"Wang Law Office" not in status.content
    assert request.status == Status.PENDING_VERIFICATION


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"agent_name": ""}, "agent_name"),
        ({"agent_authority": " "}, "agent_authority"),
        ({"type": "marketing_opt_out"}, "filed_as"),
        ({"filed_as": "cousin"}, "filed_as"),
    ],
)
def test_an_agents_bad_input_gets_field_messages_and_writes_nothing(client, overrides, field):
    answer = client.post("/api/v1/requests/", agent_body(**overrides), format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"]
    assert not RightsRequest.objects.exists() and not OutboundEmail.objects.exists()
