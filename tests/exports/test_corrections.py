"""Corrections through the fan-out engine, field by field, against a real database."""

import json

import pytest
from django.core import mail

from dsar.audit.services import Actor
from dsar.corrections import services as corrections
from dsar.corrections.models import Correction
from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.portal.services import ProposedCorrection, file_request
from dsar.staff import services as staff_services
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition
from tests.support.shop import shop_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(shop_dsn):
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["correct"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"correct": {
            "name": "UPDATE customers SET name = %(value)s WHERE email = %(email)s",
        }}}),
    )  # fmt: skip
    # A second system that holds none of the corrected fields gets no task.
    DownstreamSystem.objects.create(
        name="crm", kind="sql", actions=["correct"],
        config=json.dumps({"dsn": shop_dsn, "statements": {}}),
    )  # fmt: skip
    return shop_dsn


def filed(*changes, email="li.lei@example.com"):
    request = file_request(
        type="correction", email=email,
        corrections=[ProposedCorrection(field=f, current_value="", proposed_value=v)
                     for f, v in changes],
    )  # fmt: skip
    return request


def test_accepted_field_changes_downstream_refused_one_is_explained(shop, staff_user):
    agent = staff_user("agent")
    request = filed(("姓名", "Li Lei"), ("VIP level", "gold"))
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    name, vip = Correction.objects.filter(request=request).order_by("position")
    with pytest.raises(TransitionError, match="Decide every"):
        staff_services.approve(request=request, user=agent)
    corrections.decide(correction=name, user=agent, accept=True, target_field="name",
                       value="李雷 (Li Lei)")  # fmt: skip
    reason = "Membership levels follow purchases; they are not personal data."
    corrections.decide(correction=vip, user=agent, accept=False, reason=reason)
    mail.outbox.clear()
    staff_services.approve(request=request, user=agent)

    assert shop_rows(shop, "SELECT email, name, account FROM customers ORDER BY id") == [
        ("li.lei@example.com", "李雷 (Li Lei)", "acct-1"),
        ("han.mei@example.com", "Han", "acct-2"),
    ]
    assert list(FanoutTask.objects.values_list("system__name", flat=True)) == ["shop"]
    request = RightsRequest.objects.get(pk=request.pk)
    assert (request.status, request.outcome) == (Status.COMPLETED, "partial")
    [email] = [m for m in mail.outbox if m.to == ["li.lei@example.com"] and "VIP" in m.body]
    assert "李雷 (Li Lei)" in email.body and "not personal data" in email.body


def test_an_accepted_change_no_system_holds_completes_in_part_and_says_why(shop, staff_user):
    agent = staff_user("agent")
    request = filed(("nickname", "Lei"))
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    [item] = Correction.objects.filter(request=request)
    corrections.decide(correction=item, user=agent, accept=True, target_field="nickname")
    mail.outbox.clear()
    staff_services.approve(request=request, user=agent)

    assert not FanoutTask.objects.filter(action="correct").exists()
    request = RightsRequest.objects.get(pk=request.pk)
    assert (request.status, request.outcome) == (Status.COMPLETED, "partial")
    item.refresh_from_db()
    assert item.applied is False
    [email] = [m for m in mail.outbox if m.to == ["li.lei@example.com"]]
    # In the subject's language (Chinese by default): not changed, because no system holds it.
    assert "未更正的内容及原因" in email.body
    assert "nickname: 我们的系统均未保存这项数据" in email.body
    assert "已更正" not in email.body


def test_every_accepted_change_applied_completes_in_full(shop, staff_user):
    agent = staff_user("agent")
    request = filed(("name", "Li Lei"))
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    [item] = Correction.objects.filter(request=request)
    corrections.decide(correction=item, user=agent, accept=True, target_field="name")
    staff_services.approve(request=request, user=agent)
    request = RightsRequest.objects.get(pk=request.pk)
    assert (request.status, request.outcome) == (Status.COMPLETED, "full")
    item.refresh_from_db()
    assert item.applied is True


def test_status_page_says_what_was_refused_and_why(shop, staff_user, client):
    from tests.support.subject import open_pages

    agent = staff_user("agent")
    request = filed(("name", "Li Lei"), ("VIP level", "gold"), ("nickname", "Lei"))
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    name, vip, nick = Correction.objects.filter(request=request).order_by("position")
    corrections.decide(correction=name, user=agent, accept=True, target_field="name")
    corrections.decide(correction=vip, user=agent, accept=False, reason="Follows purchases.")
    corrections.decide(correction=nick, user=agent, accept=True, target_field="nickname")
    staff_services.approve(request=request, user=agent)

    client.cookies["django_language"] = "en"
    page = open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()
    assert "Fulfilled in part" in page
    assert "Changed" in page and "Not changed: Follows purchases." in page
    assert "Not changed: none of our systems holds this data." in page


def test_refusal_needs_a_reason_and_acceptance_a_field(shop, staff_user):
    from django.core.exceptions import ValidationError

    request = filed(("name", "X"))
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    [item] = Correction.objects.filter(request=request)
    with pytest.raises(ValidationError):
        corrections.decide(correction=item, user=staff_user("agent"), accept=False)
    with pytest.raises(ValidationError):
        corrections.decide(correction=item, user=staff_user("agent", "a2"), accept=True)
    item.refresh_from_db()
    assert item.decision == ""


def test_a_takeover_attempt_never_reaches_the_new_address(shop, staff_user):
    # Someone who knows the victim's email asks to change it to their own: every code and
    # notice goes to the victim's address, so the request can never be verified by them.
    request = filed(("email", "attacker@evil.example"))
    assert {m.to[0] for m in mail.outbox} == {"li.lei@example.com"}
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PENDING_VERIFICATION

    # The real subject verifies and staff accept the change: the old channel is told, and
    # the request's own channel stays the verified one.
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    [item] = Correction.objects.filter(request=request)
    mail.outbox.clear()
    corrections.decide(correction=item, user=staff_user("agent"), accept=True,
                       target_field="email")  # fmt: skip
    assert [m.to for m in mail.outbox] == [["li.lei@example.com"]]
    assert RightsRequest.objects.get(pk=request.pk).email == "li.lei@example.com"


def test_staff_decide_from_the_api_and_the_page(shop, api_as, client, staff_user):
    request = filed(("name", "Li Lei"), ("nickname", "x"))
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    first, second = Correction.objects.filter(request=request).order_by("position")
    url = f"/api/v1/staff/requests/{request.pk}/decide-correction/"
    body = {"correction": str(first.pk), "accept": True, "target_field": "name"}
    assert api_as("legal").post(url, body, format="json").status_code == 403
    agent_api = api_as("agent")
    response = agent_api.post(url, body, format="json")
    assert response.status_code == 200 and response.json()["decision"] == "accepted"
    bad = agent_api.post(url, {"correction": str(second.pk), "accept": False}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()["error"]["fields"]

    client.force_login(staff_user("agent", "ana"))
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "nickname" in page and "decide-correction" in page
    client.post(
        f"/staff/requests/{request.pk}/decide-correction/",
        {"correction": str(second.pk), "decision": "refuse", "reason": "Not kept anywhere"},
    )
    second.refresh_from_db()
    assert (second.decision, second.reason) == ("refused", "Not kept anywhere")
