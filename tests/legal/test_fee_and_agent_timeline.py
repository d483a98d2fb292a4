"""The status page's timeline tells the subject about a cost fee (proposed with its amount and
reason, accepted, paid, ended by a withdrawal) and an authorised agent's request (recorded,
confirmed), in both languages, never naming staff or the agent; and "ask systems again" is
neither offered nor done for an inquiry or a complaint, which have no systems to ask."""

import re

import pytest
from django.urls import reverse

from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.legal import fees, representation
from dsar.workflow.models import RequestType, RightsRequest, Status
from tests.legal.support import findings_of
from tests.support.subject import open_pages

T = RequestType
AGENT_NAME = "Wang Law Office"


def timeline(client, request, language="en") -> list[str]:
    client.cookies["django_language"] = language
    html = open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()
    block = html.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    items = [li.split(">", 1)[1] for li in block.split("<li")[1:]]
    return [" ".join(re.sub(r"<[^>]+>", " ", li).split())[17:] for li in items]  # no time


@pytest.fixture
def repeated(verified):
    verified(type=T.ACCESS, status=Status.COMPLETED)
    verified(type=T.ACCESS, status=Status.COMPLETED)
    return verified(type=T.ACCESS)


def propose(request, agent):
    [finding] = findings_of(request, "repeated_requests")
    return fees.propose_fee(request=request, user=agent, amount="25.50",
                            reason="Third request this year.", finding=finding.pk)  # fmt: skip


def test_a_paid_fee_is_told_step_by_step(repeated, agent, client):
    propose(repeated, agent)
    fees.accept_fee(request=repeated)
    fees.record_payment(request=repeated, user=agent, reference="WX-1")
    steps = timeline(client, RightsRequest.objects.get(pk=repeated.pk))
    fee_steps = steps[steps.index("We proposed a cost fee of 25.50 CNY for this request. Reason: "
                                  "Third request this year. Our time to answer is paused until "
                                  "you accept the fee and your payment is recorded."):]  # fmt: skip
    assert fee_steps == [
        fee_steps[0],
        "You accepted the fee.",
        "We recorded your payment; our time to answer runs again.",
        "Status: In review",
    ]
    page = " ".join(steps)
    assert "WX-1" not in page and agent.username not in page  # no payment reference, no staff


def test_the_fee_steps_are_in_chinese_on_a_chinese_page(repeated, agent, client):
    propose(repeated, agent)
    fees.accept_fee(request=repeated)
    steps = timeline(client, repeated, language="zh-hans")
    assert "我们就此请求提出收取 25.50 CNY 的成本费用。" in " ".join(steps)
    assert "您已接受该费用。" in steps


def test_a_withdrawal_during_the_notice_ends_the_fee_on_the_timeline(repeated, agent, client):
    propose(repeated, agent)
    open_pages(client, repeated)
    client.post(reverse("portal:withdraw", kwargs={"pk": repeated.pk}), {"confirm": "on"})
    steps = timeline(client, RightsRequest.objects.get(pk=repeated.pk))
    assert steps[-2:] == [
        "Status: Withdrawn",
        "The fee ended with the request's withdrawal: nothing is owed.",
    ]


def test_an_agents_request_is_told_without_the_agents_name(verified, agent, client):
    request = verified(type=T.ACCESS)
    representation.record_agent(request=request, user=agent, name=AGENT_NAME,
                                authority="Signed permission of 1 Dec 2026.")  # fmt: skip
    representation.confirm_by_subject(request=request)
    steps = timeline(client, request)
    assert steps[-2:] == [
        "An authorised agent made this request for you; we asked you to confirm it.",
        "You confirmed that the agent acts for you.",
    ]
    assert AGENT_NAME not in " ".join(steps)
    zh = timeline(client, request, language="zh-hans")
    assert zh[-2:] == [
        "一位授权代理人代您提出了此请求；我们已请您确认。",
        "您已确认该代理人代表您行事。",
    ]


@pytest.mark.parametrize("type_", [T.INQUIRY, T.COMPLAINT])
def test_ask_systems_again_is_neither_offered_nor_done_without_systems(
    verified, type_, api_as, staff_user, client
):
    DownstreamSystem.objects.create(name="crm", kind="notify", actions=["delete"], config="{}")
    request = verified(type=type_)
    client.force_login(staff_user("supervisor", "sup"))
    client.cookies["django_language"] = "en"
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "/recheck/" not in page
    staff = api_as("supervisor")
    assert (
        "recheck"
        not in staff.get(f"/api/v1/staff/requests/{request.pk}/").json()["allowed_actions"]
    )
    answer = staff.post(f"/api/v1/staff/requests/{request.pk}/recheck/", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 409
    assert "asks no downstream system for a dry run" in answer.json()["error"]["message"]
    assert not FanoutTask.objects.exists()
    posted = client.post(f"/staff/requests/{request.pk}/recheck/", follow=True)
    assert not FanoutTask.objects.exists()
    assert "asks no downstream system for a dry run" in posted.content.decode()
