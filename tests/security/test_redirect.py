"""Redirect attempts: "send it to me@…". Codes go only to the channel stored at intake, and
proving control of one's own address never unlocks another person's account data."""

import json

import pytest
from django.core import mail

from dsar.fanout.models import Action, DownstreamSystem, FanoutTask
from dsar.legal.models import Finding
from dsar.verification.models import Challenge
from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import (
    ATTACKER_EMAIL,
    VICTIM,
    file_request,
    mailbox,
    resend,
    sms_inbox,
    verify,
)
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.django_db(transaction=True)
SEND_IT_TO_ME = {
    "email": ATTACKER_EMAIL,
    "phone": "13800138000",
    "to": ATTACKER_EMAIL,
    "reply_to": ATTACKER_EMAIL,
    "channel": "email",
}


def test_resend_asking_for_my_address_still_goes_to_the_victim(api, sms_dir):
    filed = file_request(api, type="deletion", email=VICTIM["email"]).json()
    answer = resend(api, filed["id"], **SEND_IT_TO_ME)
    assert answer.status_code == 202
    assert Challenge.objects.filter(request_id=filed["id"]).count() == 2
    newest = code_from_outbox(filed["id"])
    assert any(newest in m.body for m in mailbox(VICTIM["email"]))
    assert mailbox(ATTACKER_EMAIL) == [] and sms_inbox(sms_dir) == []


def test_intake_extra_delivery_fields_are_ignored(api, sms_dir):
    fields = {**SEND_IT_TO_ME, **VICTIM}  # the victim's address wins the "email" key
    answer = file_request(api, type="access", **fields)
    assert answer.status_code == 201
    assert {address for m in mail.outbox for address in m.to} == {VICTIM["email"]}
    assert sms_inbox(sms_dir) == []


def test_verify_with_an_address_in_the_body_does_not_change_the_channel(api):
    filed = file_request(api, type="access", email=VICTIM["email"]).json()
    code = code_from_outbox(filed["id"])
    answer = api.post(
        f"/api/v1/requests/{filed['id']}/verify/",
        {"code": code, "email": ATTACKER_EMAIL},
        format="json",
    )
    assert answer.status_code == 200
    request = RightsRequest.objects.get(pk=filed["id"])
    assert request.email == VICTIM["email"]
    assert mailbox(ATTACKER_EMAIL) == []


@pytest.fixture
def shop_knowing_the_victim(shop_dsn):
    """The platform's shop: its dry run says which address it holds for the account."""
    statements = {
        "check": "SELECT email FROM customers WHERE account = %(account_id)s OR email = %(email)s",
        "export": "SELECT name, account FROM customers "
        "WHERE email = %(email)s OR account = %(account_id)s",
    }
    return DownstreamSystem.objects.create(
        name="shop",
        kind="sql",
        actions=["check", "export"],
        config=json.dumps({"dsn": shop_dsn, "statements": statements}),
    )


def test_my_own_address_with_the_victims_account_id_exports_nothing(
    api, api_as, shop_knowing_the_victim
):
    """The attacker proves control of their own mailbox, then asks for the victim's account:
    the shop holds another address for it, so approval is refused and no data moves."""
    filed = file_request(
        api, type="access", email=ATTACKER_EMAIL, full_name="Li Lei", account_id="acct-1"
    ).json()
    assert verify(api, filed["id"], code_from_outbox(filed["id"])).status_code == 200
    request = RightsRequest.objects.get(pk=filed["id"])
    finding = Finding.objects.get(request=request, check_name="verification_strength")
    assert finding.blocks
    approve = api_as("agent").post(f"/api/v1/staff/requests/{request.pk}/approve/")
    assert approve.status_code == 409
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW
    assert not FanoutTask.objects.filter(request=request, action=Action.EXPORT).exists()
    assert not any("/exports/" in m.body for m in mailbox(ATTACKER_EMAIL))


def test_my_own_address_with_the_victims_account_id_gathers_nothing_without_a_dry_run(
    api, api_as, shop_dsn, settings, tmp_path
):
    """SPEC §8: data is only gathered for the verified identity. Here the shop cannot run a
    dry run, staff approve on the advisory, and the export matches on the typed account id."""
    settings.DSAR_EXPORT_DIR = str(tmp_path)
    statement = "SELECT name FROM customers WHERE email = %(email)s OR account = %(account_id)s"
    DownstreamSystem.objects.create(
        name="shop",
        kind="sql",
        actions=["export"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"export": statement}}),
    )
    filed = file_request(
        api, type="access", email=ATTACKER_EMAIL, full_name="Li Lei", account_id="acct-1"
    ).json()
    verify(api, filed["id"], code_from_outbox(filed["id"]))
    api_as("agent").post(f"/api/v1/staff/requests/{filed['id']}/approve/")
    task = FanoutTask.objects.filter(request_id=filed["id"], action=Action.EXPORT).first()
    assert task is None or task.result.get("rows", 0) == 0
