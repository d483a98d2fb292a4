"""Response policies as data: seeded, chosen at intake by where the subject lives, fixed on the
request, applied by the clock, shown to staff, and refused when impossible (issue 22)."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import translation
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.sla import clock, policies, services
from dsar.sla.models import ResponsePolicy
from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import code_from_outbox, latest_email

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

SEED = importlib.import_module("dsar.sla.migrations.0005_seed_response_policies")
UTC = dt.UTC


def utc_end_of(day: dt.date) -> dt.datetime:
    """24:00 Beijing time of ``day`` (the product's TIME_ZONE), in UTC."""
    return dt.datetime(day.year, day.month, day.day, 16, tzinfo=UTC)


@pytest.fixture
def seeded():
    """The migration's rows (a transactional test elsewhere may have emptied the table)."""
    SEED.seed(apps, None)
    policies.POLICIES.changed()  # written through the migration's models, without signals
    return {(p.jurisdiction, p.request_type): p for p in ResponsePolicy.objects.all()}


@pytest.fixture
def api():
    return APIClient()


def file(api, **fields):
    body = {"type": "access", "email": "anna@example.eu", **fields}
    return api.post("/api/v1/requests/", body, format="json")


def verify(api, request_id, *, resend=False):
    """Verify by code; ``resend``: ask a fresh one first (the first has expired by now)."""
    if resend:
        assert api.post(f"/api/v1/requests/{request_id}/resend/").status_code == 202
    code = code_from_outbox(request_id)
    answer = api.post(f"/api/v1/requests/{request_id}/verify/", {"code": code}, format="json")
    assert answer.status_code == 200
    return RightsRequest.objects.get(pk=request_id)


def test_the_seeded_policies_are_valid_and_say_what_the_laws_say(seeded):
    for policy in seeded.values():
        policy.full_clean()
    gdpr = seeded[("eu-gdpr", "")]
    assert (gdpr.length, gdpr.unit, gdpr.start_event, gdpr.counting_rule) == (
        1, "months", "receipt", "eu_1182_71"
    )  # fmt: skip
    assert (gdpr.extension_length, gdpr.extension_unit) == (2, "months")
    ccpa = seeded[("us-ca-ccpa", "")]
    assert (ccpa.length, ccpa.unit, ccpa.start_event) == (45, "calendar_days", "receipt")
    assert (ccpa.ack_length, ccpa.ack_unit) == (10, "business_days")
    assert (ccpa.extension_length, ccpa.extension_unit) == (45, "calendar_days")
    cancel = seeded[("cn-pipl", "cancellation")]
    assert (cancel.length, cancel.unit, cancel.start_event) == (15, "cn_workdays", "verification")


def test_a_gdpr_request_is_due_one_month_from_receipt_not_verification(api, seeded):
    # Received Sat 31 Jan 2026, 10:00 Beijing; verified three days later.
    with time_machine.travel(dt.datetime(2026, 1, 31, 2, tzinfo=UTC), tick=False):
        body = file(api, jurisdiction="eu-gdpr").json()
    with time_machine.travel(dt.datetime(2026, 2, 3, 2, tzinfo=UTC), tick=False):
        request = verify(api, body["id"], resend=True)
    assert request.jurisdiction == "eu-gdpr"
    assert request.response_policy["policy_id"] == seeded[("eu-gdpr", "")].pk
    # No 31 Feb → Sat 28 Feb → Mon 2 Mar (Reg. 1182/71 Art. 3(2)(c), 3(4)).
    assert request.due_at == utc_end_of(dt.date(2026, 3, 2))
    created = AuditEvent.objects.get(request_id=request.pk, action="request.created")
    assert created.payload["jurisdiction"] == "eu-gdpr"


def test_a_ccpa_request_filed_on_the_form_has_its_acknowledgement_and_45_days(client, seeded):
    page = client.get("/request/deletion/").content.decode()
    assert 'name="jurisdiction"' in page and 'value="us-ca-ccpa"' in page
    # Received Mon 23 Nov 2026, 10:00 Beijing.
    with time_machine.travel(dt.datetime(2026, 11, 23, 2, tzinfo=UTC), tick=False):
        answer = client.post(
            "/request/deletion/", {"email": "sam@example.com", "jurisdiction": "us-ca-ccpa"}
        )
    assert answer.status_code == 302
    request = RightsRequest.objects.get()
    assert request.jurisdiction == "us-ca-ccpa"
    # 10 business days, Thanksgiving Thu 26 Nov skipped: Tue 8 Dec (11 CCR §7001, §7004).
    assert clock.ack_due_at(request) == utc_end_of(dt.date(2026, 12, 8))
    with time_machine.travel(dt.datetime(2026, 11, 25, 2, tzinfo=UTC), tick=False):
        request = verify(APIClient(), request.pk, resend=True)
    # 45 calendar days from receipt: Thu 7 Jan 2027 (§7021(a); calendar days do not roll).
    assert request.due_at == utc_end_of(dt.date(2027, 1, 7))


def test_without_a_jurisdiction_the_platform_default_applies(api, seeded, settings):
    settings.DSAR_DEFAULT_JURISDICTION = "eu-gdpr"
    request = RightsRequest.objects.get(pk=file(api).json()["id"])
    assert request.jurisdiction == "eu-gdpr"
    assert request.response_policy["unit"] == "months"


def test_the_form_offers_the_platform_default(client, seeded, settings):
    settings.DSAR_DEFAULT_JURISDICTION = "us-ca-ccpa"
    page = client.get("/request/access/").content.decode()
    assert '<option value="us-ca-ccpa" selected>' in page


def test_an_unknown_jurisdiction_is_a_field_error_and_files_nothing(api, client, seeded):
    answer = file(api, jurisdiction="mars")
    assert answer.status_code == 400
    assert "jurisdiction" in answer.json()["error"]["fields"]
    page = client.post("/request/access/", {"email": "a@example.com", "jurisdiction": "mars"})
    assert page.status_code == 400
    assert page.context["form"].errors["jurisdiction"]
    assert not RightsRequest.objects.exists()


def test_pipl_cancellation_is_due_in_15_working_days_from_verification(api, seeded):
    with time_machine.travel(dt.datetime(2026, 9, 28, 2, tzinfo=UTC), tick=False):
        body = file(api, type="cancellation", jurisdiction="cn-pipl").json()
        request = verify(api, body["id"])
    # National Day 1–7 Oct off, Sat 10 Oct an adjusted working day: Fri 23 Oct.
    assert request.due_at == utc_end_of(dt.date(2026, 10, 23))


def test_pipl_other_types_follow_the_dsar_sla_settings(api, seeded, settings):
    settings.DSAR_SLA_DAYS = 5
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, tzinfo=UTC), tick=False):
        request = verify(api, file(api, jurisdiction="cn-pipl").json()["id"])
    assert request.response_policy["policy_id"] is None
    assert request.due_at == utc_end_of(dt.date(2026, 3, 9))  # Sat 7 → Mon 9 March


def test_editing_a_policy_changes_only_requests_filed_after_it(api, seeded):
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, tzinfo=UTC), tick=False):
        before = file(api, jurisdiction="us-ca-ccpa").json()["id"]
        for policy in ResponsePolicy.objects.filter(jurisdiction="us-ca-ccpa"):
            policy.length = 30
            policy.save()  # as the admin saves it: the processes' copies are read again
        after = file(api, jurisdiction="us-ca-ccpa", email="b@example.com").json()["id"]
        before, after = verify(api, before), verify(api, after)
    assert before.due_at == utc_end_of(dt.date(2026, 4, 16))  # 45 days
    assert after.due_at == utc_end_of(dt.date(2026, 4, 1))  # 30 days


def test_a_gdpr_extension_is_two_months_at_most(api, seeded, staff_user):
    with time_machine.travel(dt.datetime(2026, 3, 10, 2, tzinfo=UTC), tick=False):
        request = verify(api, file(api, jurisdiction="eu-gdpr").json()["id"])
        assert request.due_at == utc_end_of(dt.date(2026, 4, 10))
        agent = staff_user("agent")
        with pytest.raises(ValidationError) as refused, translation.override("en"):
            services.extend(request=request, user=agent, days=3, reason="complex")
        assert "Choose 1 to 2 months" in refused.value.message_dict["days"][0]
        services.extend(request=request, user=agent, days=2, reason="complex")
    request.refresh_from_db()
    assert request.due_at == utc_end_of(dt.date(2026, 6, 10))  # GDPR Art. 12(3)
    event = AuditEvent.objects.get(request_id=request.pk, action="sla.extended")
    assert event.payload["unit"] == "months"
    notice = latest_email(request.pk, "sla_extended")
    assert "complex" in notice.body and "Art. 12(3) GDPR" in notice.body


def test_staff_see_the_policy_and_filter_by_jurisdiction(api, api_as, seeded, client):
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, tzinfo=UTC), tick=False):
        ccpa = verify(api, file(api, jurisdiction="us-ca-ccpa").json()["id"])
        pipl = verify(api, file(api, email="li@example.cn").json()["id"])
    staff = api_as("agent")
    listed = staff.get("/api/v1/staff/requests/", {"jurisdiction": "us-ca-ccpa"}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [str(ccpa.pk)]
    assert rows[0]["jurisdiction"] == "us-ca-ccpa"
    detail = staff.get(f"/api/v1/staff/requests/{ccpa.pk}/").json()
    policy = detail["policy"]
    assert (policy["length"], policy["unit"], policy["start_event"]) == (
        45, "calendar_days", "receipt"
    )  # fmt: skip
    # Mon 16 Mar, 10 business days from Mon 2 Mar (11 CCR §7001, §7004).
    assert dt.datetime.fromisoformat(policy["ack_due_at"]) == utc_end_of(dt.date(2026, 3, 16))
    assert (policy["extension_limit"], policy["extension_unit"]) == (45, "calendar_days")
    bad = staff.get("/api/v1/staff/requests/", {"jurisdiction": "mars"})
    assert bad.status_code == 400
    default = staff.get("/api/v1/staff/requests/", {"jurisdiction": "cn-pipl"}).json()
    rows = default["results"] if isinstance(default, dict) else default
    assert [r["id"] for r in rows] == [str(pipl.pk)]


def test_the_request_page_shows_the_policy_in_both_languages(api, seeded, client, staff_user):
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, tzinfo=UTC), tick=False):
        request = verify(api, file(api, jurisdiction="us-ca-ccpa").json()["id"])
    client.force_login(staff_user("agent"))
    client.cookies["django_language"] = "en"
    html = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "California, USA (CCPA): 45 calendar days from request received" in html
    assert "Acknowledge by" in html and "16 Mar 2026, end of day" in html
    client.cookies["django_language"] = "zh-hans"
    html = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "美国加利福尼亚州（CCPA）" in html and "确认收到期限" in html


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit": "months", "counting_rule": "ccpa"}, "unit"),
        ({"unit": "business_days", "counting_rule": "prc_civil_code"}, "unit"),
        ({"length": "0"}, "length"),
        ({"ack_length": "5"}, "ack_length"),
        ({"ack_length": "50", "ack_unit": "calendar_days"}, "ack_length"),
    ],
)
def test_the_admin_refuses_an_impossible_policy_with_field_messages(
    client, staff_user, seeded, change, field
):
    admin = staff_user("admin")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    data = {
        "jurisdiction": "us-ca-ccpa",
        "request_type": "access",
        "length": "45",
        "unit": "calendar_days",
        "counting_rule": "ccpa",
        "start_event": "receipt",
        "source": "test",
        **change,
    }
    count = ResponsePolicy.objects.count()
    page = client.post("/admin/sla/responsepolicy/add/", data)
    assert page.status_code == 200
    assert field in page.context["adminform"].form.errors
    assert ResponsePolicy.objects.count() == count


def test_an_admin_adds_a_policy_and_it_is_audited(client, staff_user, seeded):
    admin = staff_user("admin")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    data = {
        "jurisdiction": "eu-gdpr",
        "request_type": "cancellation",
        "length": "20",
        "unit": "calendar_days",
        "counting_rule": "eu_1182_71",
        "start_event": "receipt",
        "source": "our promise",
    }
    assert client.post("/admin/sla/responsepolicy/add/", data).status_code == 302
    policy = ResponsePolicy.objects.get(jurisdiction="eu-gdpr", request_type="cancellation")
    event = AuditEvent.objects.get(action="policy.added")
    assert event.payload["policy_id"] == policy.pk and event.payload["length"] == 20


def test_agents_cannot_edit_policies(client, staff_user, seeded):
    agent = staff_user("agent")
    agent.is_staff = True
    agent.save()
    client.force_login(agent)
    assert client.get("/admin/sla/responsepolicy/add/").status_code == 403


def test_a_request_filed_before_policies_keeps_the_settings_terms(make_request, settings):
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, tzinfo=UTC), tick=False):
        request = make_request(status=Status.IN_REVIEW)
    assert request.response_policy == {} and request.jurisdiction == ""
    assert request.due_at == utc_end_of(dt.date(2026, 3, 17))
    with translation.override("en"):
        assert "15 calendar days from identity verified" in clock.describe_policy(request)
