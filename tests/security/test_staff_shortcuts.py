"""Staff shortcuts around verification (issue 15, item 2).

A social engineer calls support: "I cannot get the code, please just verify me." A free-text
reason used to give the strongest verification there is, which silenced the verification
check and released the typed account id downstream. Now staff verify only on recorded
evidence (an uploaded document they reviewed, or a code they sent to an address on file and
the subject read back), a code read back proves only the address it went to, and for access,
deletion and cancellation the staff member who verified may not also approve.
"""

import datetime as dt
import json

import pytest
import requests as http
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from dsar.audit.models import AuditEvent
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import Action, DownstreamSystem, FanoutTask
from dsar.legal.models import Finding
from dsar.verification import evidence
from dsar.verification.models import Challenge, Method, Strength, Verification
from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import ATTACKER_EMAIL, VICTIM, file_request, mailbox, sms_inbox
from tests.support.servers import live_database_url
from tests.support.subject import (
    code_from_outbox,
    latest_email,
    read_back_code,
    read_back_code_from_outbox,
    wrong_code,
)

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SOCIAL_ENGINEER = {"email": ATTACKER_EMAIL, "full_name": "Li Lei", "account_id": "acct-1"}


def upload(request_id):
    request = RightsRequest.objects.get(pk=request_id)
    file = SimpleUploadedFile("id.png", PNG, content_type="image/png")
    return evidence.submit_evidence(request=request, upload=file)


def staff_post(client, request_id, action: str, body: dict | None = None):
    return client.post(
        f"/api/v1/staff/requests/{request_id}/{action}/",
        body or {},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def status_of(request_id) -> str:
    return RightsRequest.objects.get(pk=request_id).status


@pytest.fixture
def shop(shop_dsn):
    """The platform's shop: its dry run names the address it holds for the typed account."""
    statements = {
        "check": "SELECT email FROM customers WHERE account = %(account_id)s",
        "export": "SELECT name, account FROM customers "
        "WHERE email = %(email)s OR (account = %(account_id)s AND %(account_id)s <> '')",
    }
    return DownstreamSystem.objects.create(
        name="shop",
        kind="sql",
        actions=["check", "export"],
        config=json.dumps({"dsn": shop_dsn, "statements": statements}),
    )


def test_a_reason_alone_no_longer_verifies_over_http(server_process, staff_user):
    """The attack as it was reported, through gunicorn: 400, and nothing changed."""
    base = server_process({"DATABASE_URL": live_database_url()}).url
    from dsar.portal.services import file_request as file_

    request = file_(type="access", **SOCIAL_ENGINEER)
    token = Token.objects.create(user=staff_user("agent")).key
    events = AuditEvent.objects.count()
    answer = http.post(
        f"{base}/api/v1/staff/requests/{request.pk}/verify/",
        json={"reason": "called the subject"},
        headers={"Authorization": f"Token {token}", "Accept-Language": "en"},
        timeout=30,
    )
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert "read back" in fields["code"][0] and "uploaded" in fields["evidence_id"][0]
    assert status_of(request.pk) == Status.PENDING_VERIFICATION
    assert not Verification.objects.filter(request=request).exists()
    assert AuditEvent.objects.count() == events


def test_the_staff_page_refuses_a_reason_alone(client, staff_user):
    client.force_login(staff_user("agent"))
    filed = file_request(client, type="access", **SOCIAL_ENGINEER).json()
    page = client.post(
        f"/staff/requests/{filed['id']}/verify/",
        {"reason": "called the subject"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "read back" in page
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION
    assert not Verification.objects.filter(request_id=filed["id"]).exists()


def test_a_code_read_back_from_the_callers_own_mailbox_unlocks_no_account(
    api, api_as, shop, staff_user
):
    """The social engineer gets the agent to send a code to the address they typed and reads
    it back: that proves their mailbox, nothing more. The shop holds another address for the
    account, so the verification check blocks and nothing of the victim's is exported."""
    filed = file_request(api, type="access", **SOCIAL_ENGINEER).json()
    agent = api_as("agent")
    assert (
        staff_post(agent, filed["id"], "verify", {"reason": "called the subject"}).status_code
        == 400
    )
    assert staff_post(agent, filed["id"], "send-code", {"channel": "email"}).status_code == 202
    code = read_back_code_from_outbox(filed["id"])
    assert any(code in m.body for m in mailbox(ATTACKER_EMAIL))  # the address on file
    assert staff_post(agent, filed["id"], "verify", {"code": code}).status_code == 200

    request = RightsRequest.objects.get(pk=filed["id"])
    verification = Verification.objects.get(request=request)
    assert (verification.method, verification.strength) == (Method.STAFF_CODE, Strength.CONTACT)
    assert subject_keys(request, action=Action.EXPORT).account_id == ""
    assert Finding.objects.get(request=request, check_name="verification_strength").blocks
    supervisor = api_as("supervisor")
    assert staff_post(supervisor, filed["id"], "approve").status_code == 409
    assert not FanoutTask.objects.filter(request=request, action=Action.EXPORT).exists()


@pytest.mark.parametrize("type_", ["access", "deletion", "cancellation"])
def test_the_agent_who_verified_by_evidence_cannot_approve(api, staff_user, type_):
    from rest_framework.test import APIClient

    agent, other = APIClient(), APIClient()
    agent.force_authenticate(staff_user("agent", "ana"))
    other.force_authenticate(staff_user("agent", "bo"))
    filed = file_request(api, type=type_, email=VICTIM["email"]).json()
    doc = upload(filed["id"])
    assert staff_post(agent, filed["id"], "verify", {"evidence_id": str(doc.pk)}).status_code == 200
    shown = agent.get(f"/api/v1/staff/requests/{filed['id']}/").json()
    assert "approve" not in shown["allowed_actions"]

    refused = staff_post(agent, filed["id"], "approve")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "separation_of_duties" and "another" in error["message"]
    assert status_of(filed["id"]) == Status.IN_REVIEW
    assert AuditEvent.objects.filter(request_id=filed["id"], action="approval.refused").exists()

    assert (
        "approve" in other.get(f"/api/v1/staff/requests/{filed['id']}/").json()["allowed_actions"]
    )
    assert staff_post(other, filed["id"], "approve").status_code == 200
    assert status_of(filed["id"]) != Status.IN_REVIEW


def test_the_agent_who_verified_by_a_read_back_code_cannot_approve(api, staff_user):
    from rest_framework.test import APIClient

    agent = APIClient()
    agent.force_authenticate(staff_user("agent", "ana"))
    filed = file_request(api, type="deletion", email=VICTIM["email"]).json()
    staff_post(agent, filed["id"], "send-code", {"channel": "email"})
    code = read_back_code_from_outbox(filed["id"])
    assert staff_post(agent, filed["id"], "verify", {"code": code}).status_code == 200
    assert staff_post(agent, filed["id"], "approve").status_code == 403
    assert status_of(filed["id"]) == Status.IN_REVIEW


def verified_correction(api, agent, *, field: str, target_field: str, value: str) -> str:
    """A correction request verified by ``agent`` on a document, its one change accepted."""
    filed = file_request(
        api,
        type="correction",
        email=ATTACKER_EMAIL,
        account_id="acct-1",
        corrections=[{"field": field, "proposed_value": value}],
    ).json()
    doc = upload(filed["id"])
    assert staff_post(agent, filed["id"], "verify", {"evidence_id": str(doc.pk)}).status_code == 200
    [item] = RightsRequest.objects.get(pk=filed["id"]).corrections.all()
    decision = {"correction": str(item.pk), "accept": True, "target_field": target_field}
    assert staff_post(agent, filed["id"], "decide-correction", decision).status_code == 200
    return filed["id"]


def test_a_correction_of_a_name_may_be_approved_by_the_agent_who_verified_it(api, api_as):
    """Corrections are exempt, as the verification check exempts them."""
    agent = api_as("agent")
    request_id = verified_correction(api, agent, field="name", target_field="name", value="Li")
    assert staff_post(agent, request_id, "approve").status_code == 200


def test_a_correction_of_an_email_needs_a_second_person(api, staff_user):
    """Changing the account's email downstream hands the account over (a password reset goes
    to the new address): the agent who verified the requester does not also approve it."""
    from rest_framework.test import APIClient

    agent, supervisor = APIClient(), APIClient()
    agent.force_authenticate(staff_user("agent"))
    supervisor.force_authenticate(staff_user("supervisor"))
    request_id = verified_correction(
        api, agent, field="email", target_field="email", value=ATTACKER_EMAIL
    )
    refused = staff_post(agent, request_id, "approve")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "separation_of_duties"
    assert status_of(request_id) == Status.IN_REVIEW
    assert staff_post(supervisor, request_id, "approve").status_code == 200


def test_the_staff_page_does_not_let_the_verifier_approve(client, staff_user):
    client.force_login(staff_user("agent"))
    filed = file_request(client, type="deletion", email=VICTIM["email"]).json()
    doc = upload(filed["id"])
    client.post(f"/staff/requests/{filed['id']}/verify/", {"evidence_id": str(doc.pk)})
    assert status_of(filed["id"]) == Status.IN_REVIEW
    page = client.get(f"/staff/requests/{filed['id']}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f"/staff/requests/{filed['id']}/approve/" not in page.content.decode()
    assert "another staff member" in page.content.decode()
    answer = client.post(
        f"/staff/requests/{filed['id']}/approve/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "another staff member" in answer.content.decode()
    assert status_of(filed["id"]) == Status.IN_REVIEW


def test_a_staff_code_is_stored_hashed_and_locked_after_five_wrong_tries(api, api_as):
    filed = file_request(api, type="access", email=VICTIM["email"]).json()
    agent = api_as("agent")
    staff_post(agent, filed["id"], "send-code", {"channel": "email"})
    code = read_back_code_from_outbox(filed["id"])
    challenge = Challenge.objects.get(request_id=filed["id"], read_back=True)
    assert code not in json.dumps([challenge.code_hash, challenge.link_hash])
    for _ in range(5):
        answer = staff_post(agent, filed["id"], "verify", {"code": wrong_code(code)})
        assert answer.status_code == 400 and "code" in answer.json()["error"]["fields"]
    assert staff_post(agent, filed["id"], "verify", {"code": code}).status_code == 400
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION
    failures = AuditEvent.objects.filter(request_id=filed["id"], action="verification.failed")
    assert failures.count() == 6 and all(e.actor_kind == "staff" for e in failures)


def test_a_staff_code_expires(api, api_as):
    with time_machine.travel(START, tick=False) as clock:
        filed = file_request(api, type="access", email=VICTIM["email"]).json()
        agent = api_as("agent")
        staff_post(agent, filed["id"], "send-code", {"channel": "email"})
        code = read_back_code_from_outbox(filed["id"])
        clock.shift(dt.timedelta(minutes=16))
        answer = staff_post(agent, filed["id"], "verify", {"code": code})
    assert answer.status_code == 400 and "expired" in answer.json()["error"]["message"] + str(
        answer.json()["error"]["fields"]
    )
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION


def test_a_staff_code_goes_only_to_an_address_on_file(api, api_as, sms_dir):
    filed = file_request(api, type="access", email=VICTIM["email"]).json()
    agent = api_as("agent")
    no_phone = staff_post(agent, filed["id"], "send-code", {"channel": "phone"})
    assert no_phone.status_code == 400 and "channel" in no_phone.json()["error"]["fields"]
    sent = staff_post(agent, filed["id"], "send-code", {"channel": "email", "to": ATTACKER_EMAIL})
    assert sent.status_code == 202
    assert mailbox(ATTACKER_EMAIL) == [] and sms_inbox(sms_dir) == []
    assert latest_email(filed["id"], "staff_code").to == VICTIM["email"]


def test_a_staff_code_by_sms_goes_to_the_phone_given(api, api_as, sms_dir):
    filed = file_request(api, type="access", **{**VICTIM, "email": ATTACKER_EMAIL}).json()
    assert (
        staff_post(api_as("agent"), filed["id"], "send-code", {"channel": "phone"}).status_code
        == 202
    )
    [text] = [m for m in sms_inbox(sms_dir) if "staff" in m["text"].lower()]
    assert text["to"] == "+8613912345678"
    code = read_back_code(text["text"])
    assert (
        staff_post(api_as("supervisor"), filed["id"], "verify", {"code": code}).status_code == 200
    )
    verification = Verification.objects.get(request_id=filed["id"])
    assert verification.channel == "phone"
    assert verification.identity_hash == RightsRequest.objects.get(pk=filed["id"]).phone_hash


def test_the_subjects_own_code_and_a_staff_code_do_not_stand_in_for_each_other(api, api_as):
    """The subject's code email says staff never ask for it: staff cannot enter it. A staff
    code is for reading back to staff, not for the public verify endpoint."""
    filed = file_request(api, type="access", email=VICTIM["email"]).json()
    agent = api_as("agent")
    own = code_from_outbox(filed["id"])
    staff_post(agent, filed["id"], "send-code", {"channel": "email"})
    staff_code = read_back_code_from_outbox(filed["id"])
    if staff_code != own:
        assert staff_post(agent, filed["id"], "verify", {"code": own}).status_code == 400
        public = api.post(
            f"/api/v1/requests/{filed['id']}/verify/", {"code": staff_code}, format="json"
        )
        assert public.status_code == 400
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION
    assert (
        api.post(
            f"/api/v1/requests/{filed['id']}/verify/", {"code": own}, format="json"
        ).status_code
        == 200
    )


def test_staff_verification_by_code_is_in_the_audit_trail(api, staff_user):
    from rest_framework.test import APIClient

    user = staff_user("agent")
    agent = APIClient()
    agent.force_authenticate(user)
    filed = file_request(api, type="access", email=VICTIM["email"]).json()
    staff_post(agent, filed["id"], "send-code", {"channel": "email"})
    staff_post(agent, filed["id"], "verify", {"code": read_back_code_from_outbox(filed["id"])})
    mine = AuditEvent.objects.filter(request_id=filed["id"], actor_kind="staff", actor_id=user.pk)
    sent = mine.get(action="verification.staff_code_sent")
    assert sent.payload["channel"] == "email" and "code" not in sent.payload
    moved = mine.get(action="request.transition", to_status=Status.IN_REVIEW)
    assert moved.payload["method"] == Method.STAFF_CODE and moved.payload["channel"] == "email"


def test_staff_cannot_flood_the_subject_with_codes(api, api_as):
    filed = file_request(api, type="access", email=VICTIM["email"]).json()
    agent = api_as("agent")
    for _ in range(3):  # DSAR_RESEND_RATE_REQUEST: 3/hour
        assert staff_post(agent, filed["id"], "send-code", {"channel": "email"}).status_code == 202
    flooded = staff_post(agent, filed["id"], "send-code", {"channel": "email"})
    assert flooded.status_code == 429 and "Retry-After" in flooded
    assert len([m for m in mailbox(VICTIM["email"]) if "support call" in m.body]) == 3
