"""Requests staff file for a caller: the code goes only to a contact a system holds."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dsar.audit.models import AuditEvent
from dsar.notifications.models import OutboundEmail
from dsar.staff import hotline
from dsar.staff.models import StaffIntake
from dsar.verification import services as verification
from dsar.verification.evidence import submit_evidence
from dsar.verification.models import Method, Verification
from dsar.workflow.models import RightsRequest, Status
from tests.support.hotline import (
    ON_FILE_EMAIL,
    ON_FILE_PHONE,
    code_from_text,
    register_shop,
    shop_with_phones,
)

pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def shop(shop_dsn):
    shop_with_phones(shop_dsn)
    register_shop(shop_dsn)
    return shop_dsn


def file(user, **fields):
    data = {"type": "deletion", "channel": "hotline", "caller_said": "Close and delete please."}
    return hotline.file_for_caller(user=user, **(data | fields))


def test_claimed_phone_on_file_gets_the_code_by_sms_and_verifies(shop, staff_user):
    agent = staff_user("agent")
    filed = file(agent, account_id="acct-1", phone="138 0013 5678")
    request = filed.request
    assert filed.route == "code" and filed.sent_to == "138****5678"
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION and request.due_at is None
    assert request.phone == ON_FILE_PHONE and request.email == ""
    sent = OutboundEmail.objects.filter(request_id=request.pk)
    assert {(m.channel, m.to, m.template) for m in sent} == {
        ("sms", ON_FILE_PHONE, "receipt"),
        ("sms", ON_FILE_PHONE, "code"),
    }
    intake = StaffIntake.objects.get(request=request)
    assert (intake.channel, intake.filed_by, intake.route) == ("hotline", agent, "code")
    assert request.description == "Close and delete please."
    event = AuditEvent.objects.get(request_id=request.pk, action="request.filed_by_staff")
    assert event.actor_id == str(agent.pk)
    assert event.payload["channel"] == "hotline" and event.payload["contacts_on_file"] == 2

    verification.verify_code(request=request, code=code_from_text(request.pk))
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW and request.due_at is not None


def test_claimed_contact_not_on_file_is_never_messaged_and_staff_pick_a_masked_one(
    shop, staff_user
):
    agent = staff_user("agent")
    filed = file(agent, account_id="acct-1", phone="13912345678", email="caller@example.org")
    assert filed.route == "choose"
    assert sorted(masked for _, masked in filed.choices) == ["138****5678", "l***@example.com"]
    assert not OutboundEmail.objects.filter(request_id=filed.request.pk).exists()
    assert all(ON_FILE_PHONE not in masked for _, masked in filed.choices)

    phone_choice = next(d for d, masked in filed.choices if masked.startswith("138"))
    assert hotline.send_code(request=filed.request, user=agent, choice=phone_choice) == (
        "138****5678"
    )
    recipients = set(OutboundEmail.objects.filter(request_id=filed.request.pk).values_list("to"))
    assert recipients == {(ON_FILE_PHONE,)}  # never +8613912345678 nor caller@example.org
    with pytest.raises(ValidationError):  # one contact per request
        hotline.send_code(request=filed.request, user=agent, choice=phone_choice)


def test_a_choice_that_is_not_on_file_is_refused(shop, staff_user):
    agent = staff_user("agent")
    filed = file(agent, account_id="acct-1", phone="13912345678")
    from dsar.workflow import identity

    forged = identity.phone_hash("+8613912345678")  # the number read out on the call
    with pytest.raises(ValidationError) as error:
        hotline.send_code(request=filed.request, user=agent, choice=forged)
    assert "choice" in error.value.message_dict
    assert not OutboundEmail.objects.filter(request_id=filed.request.pk).exists()


def test_the_account_binds_the_lookup(shop, staff_user):
    """Another customer's email, claimed with acct-1, is not on file for acct-1."""
    filed = file(staff_user("agent"), account_id="acct-1", email="han.mei@example.com")
    assert filed.route == "choose"
    assert not OutboundEmail.objects.exists()


def test_email_on_file_gets_the_code_by_email(shop, staff_user):
    filed = file(staff_user("supervisor"), account_id="acct-1", email="LI.LEI@example.com")
    assert filed.route == "code" and filed.sent_to == "l***@example.com"
    assert set(OutboundEmail.objects.values_list("channel", "to")) == {("email", ON_FILE_EMAIL)}


def test_nothing_on_file_leaves_evidence_only(shop, staff_user):
    agent = staff_user("agent")
    filed = file(agent, channel="letter", account_id="acct-unknown", phone="13912345678")
    assert filed.route == "evidence" and filed.choices == ()
    request = RightsRequest.objects.get(pk=filed.request.pk)
    assert request.email == request.phone == "" and request.status == Status.PENDING_VERIFICATION
    assert not OutboundEmail.objects.exists()

    from django.core.files.uploadedfile import SimpleUploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    evidence = submit_evidence(
        request=request, upload=SimpleUploadedFile("id.png", png, content_type="image/png")
    )
    verification.verify_by_staff(request=request, user=agent, evidence_id=evidence.pk)
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW and request.due_at is not None
    recorded = Verification.objects.get(request=request)
    assert (recorded.method, recorded.reviewer) == (Method.STAFF_EVIDENCE, agent)


@pytest.mark.parametrize("role", ["legal", "admin", "none"])
def test_roles_without_file_request_are_refused(shop, staff_user, role):
    with pytest.raises(PermissionDenied):
        file(staff_user(role), account_id="acct-1", phone="13800135678")
    assert not RightsRequest.objects.exists()


def test_bad_input_names_each_field_and_writes_nothing(shop, staff_user):
    with pytest.raises(ValidationError) as error:
        hotline.file_for_caller(
            user=staff_user("agent"), type="nonsense", channel="fax", caller_said=" ",
            email="not an email", phone="12345",
        )  # fmt: skip
    assert set(error.value.message_dict) == {"type", "channel", "caller_said", "email", "phone"}
    with pytest.raises(ValidationError) as error:
        file(staff_user("supervisor"))
    assert set(error.value.message_dict) == {"account_id"}
    assert not RightsRequest.objects.exists() and not AuditEvent.objects.exists()
    assert not StaffIntake.objects.exists() and not OutboundEmail.objects.exists()


def test_the_file_a_request_page_files_and_offers_masked_contacts(shop, staff_user):
    from django.test import Client

    client = Client()
    client.force_login(staff_user("agent"))
    assert "/staff/requests/new/" in client.get("/staff/").content.decode()
    bad = client.post("/staff/requests/new/", {"channel": "hotline", "type": "access",
                                               "caller_said": "x", "language": "en",
                                               "phone": "12345"})  # fmt: skip
    assert bad.status_code == 200 and 'id="err-phone"' in bad.content.decode()
    assert not RightsRequest.objects.exists()
    filed = client.post("/staff/requests/new/", {"channel": "hotline", "type": "access",
                                                  "caller_said": "Wants a copy.", "language": "en",
                                                  "account_id": "acct-1",
                                                  "phone": "13912345678"})  # fmt: skip
    request = RightsRequest.objects.get()
    assert filed.status_code == 302 and filed.url == f"/staff/requests/{request.pk}/intake/"
    page = client.get(filed.url).content.decode()
    assert "138****5678" in page and "13800135678" not in page and "13912345678" not in page
    choice = next(
        d
        for d, m in hotline.on_file_choices(request=request, user=staff_user("supervisor", "s2"))
        if m.startswith("138")
    )
    client.post(filed.url, {"choice": choice})
    assert set(OutboundEmail.objects.values_list("to", flat=True)) == {ON_FILE_PHONE}


def test_legal_gets_403_from_the_form(shop, staff_user):
    from django.test import Client

    client = Client()
    client.force_login(staff_user("legal"))
    assert client.get("/staff/requests/new/").status_code == 403
    assert "/staff/requests/new/" not in client.get("/staff/").content.decode()


def test_an_http_systems_check_answer_names_the_contacts_on_file(db, downstream, staff_user):
    """An ``http`` system's dry-run answer (``emails``, ``phones``) is read the same way; it
    is asked with the account id alone, and one that fails counts as holding nothing."""
    import json

    from dsar.fanout.models import DownstreamSystem
    from tests.support.signing import SECRET

    DownstreamSystem.objects.create(
        name="wallet", kind="http", actions=["check"], timeout_seconds=2,
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    downstream.answers = [(200, {"phones": ["+86 138 0013 5678", "not a phone"], "emails": []})]
    filed = file(staff_user("agent"), account_id="acct-7", phone="13800135678")
    assert filed.route == "code" and filed.sent_to == "138****5678"
    asked = downstream.received[-1]
    assert asked["action"] == "check" and asked["subject"]["account_id"] == "acct-7"
    assert not asked["subject"].get("phone")  # the claimed number is not what is looked up

    downstream.answers = [(500, {"error": "down"})]
    down = file(staff_user("supervisor"), account_id="acct-8", phone="13800135678")
    assert down.route == "evidence"
    event = AuditEvent.objects.get(request_id=down.request.pk, action="request.filed_by_staff")
    assert event.payload["systems_unanswered"] == 1
