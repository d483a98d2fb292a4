"""The status page's timeline: every step the subject may see (received, verified with the
deadline, questions and replies, an extension with its reason, the outcome with its legal
basis and complaint route, the download and its use), and nothing about who on our side acted
or what staff wrote for each other."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import User

from dsar.exports import services as exports
from dsar.exports.models import Package
from dsar.legal import decisions
from dsar.portal import services as portal_services
from dsar.portal.timeline import subject_timeline
from dsar.sla.services import extend
from dsar.staff import services as staff_services
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.subject import open_pages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def at(hours: float):
    return time_machine.travel(T0 + dt.timedelta(hours=hours), tick=False)


@pytest.fixture
def agent(staff_user):
    user = staff_user("agent", "agent.zhang")
    User.objects.filter(pk=user.pk).update(first_name="Wei", last_name="Zhang")
    return User.objects.get(pk=user.pk)


def steps_of(client, request, language="en") -> list[str]:
    client.cookies["django_language"] = language
    html = open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()
    block = html.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    items = [li.split(">", 1)[1] for li in block.split("<li")[1:]]
    return [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in items]


def denied_after_a_question(make_request, agent, staff_user):
    with at(0):
        request = make_request(status=Status.IN_REVIEW, type="deletion")
    with at(1):
        staff_services.add_note(request=request, user=agent, body="Caller sounded angry; VIP.")
        staff_services.request_info(
            request=request, user=agent, reason="Please send the order number."
        )
    with at(2):
        portal_services.reply_to_request(
            request=RightsRequest.objects.get(pk=request.pk), message="It is 42.", upload=None
        )
    with at(3):
        extend(request=request, user=agent, days=15, reason="Three systems hold your orders.")
    with at(4):
        decisions.deny_request(
            request=request, user=staff_user("legal", "legal.li"), basis="legal_obligation",
            explanation="Tax law requires us to keep these invoices.", basis_detail="Art. 8",
        )  # fmt: skip
    return RightsRequest.objects.get(pk=request.pk)


def test_the_timeline_tells_each_step_in_order(client, make_request, agent, staff_user):
    request = denied_after_a_question(make_request, agent, staff_user)
    steps = steps_of(client, request)
    assert steps[0] == "2026-12-01 10:00 We received your request."
    assert steps[1].startswith("2026-12-01 10:00 You confirmed it is you; our time to answer")
    assert "We must answer by 16 Dec 2026, end of day (China Standard Time, UTC+8)." in steps[1]
    assert steps[2] == "2026-12-01 11:00 We asked you: Please send the order number."
    assert steps[3] == "2026-12-01 12:00 You replied: It is 42."
    assert steps[4] == "2026-12-01 12:00 Status: In review"
    assert steps[5].startswith(
        "2026-12-01 13:00 We extended our deadline to 31 Dec 2026, end of day"
    )
    assert "Reason: Three systems hold your orders." in steps[5]
    assert steps[6].startswith("2026-12-01 14:00 Outcome: Denied")
    assert "Legal basis: Required to fulfil a legal obligation — Art. 8" in steps[6]
    assert "Cyberspace Administration of China" in steps[6]
    assert len(steps) == 7


def test_the_timeline_never_names_staff_or_shows_notes(client, make_request, agent, staff_user):
    request = denied_after_a_question(make_request, agent, staff_user)
    client.cookies["django_language"] = "en"
    html = open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()
    for secret in ["Caller sounded angry", "VIP", "agent.zhang", "legal.li", "Zhang", "Wei"]:
        assert secret not in html
    assert not re.search(r"[Ss]taff", html)
    kinds = [s.kind for s in subject_timeline(request)]
    assert "note" not in kinds and len(kinds) == 7


def test_the_chinese_timeline(client, make_request, agent, staff_user):
    request = denied_after_a_question(make_request, agent, staff_user)
    steps = steps_of(client, request, "zh-hans")
    assert steps[0] == "2026-12-01 10:00 我们已收到您的请求。"
    assert steps[1].endswith(
        "您已确认身份，我们的答复期限开始计算。"
        " 我们须在 2026年12月16日 24:00（北京时间，UTC+8）前答复。"
    )
    assert steps[2] == "2026-12-01 11:00 我们向您询问： Please send the order number."
    assert steps[5].startswith("2026-12-01 13:00 我们已将答复期限延长至")
    assert "原因：Three systems hold your orders." in steps[5]
    assert "法律依据：" in steps[6] and "网信" in steps[6]


def test_an_access_request_shows_its_download_and_each_use(client, make_request):
    with at(0):
        request = make_request(type="access", status=Status.COMPLETED)
    package = Package.objects.get(request=request)
    with at(5):
        exports.take_download(package)
    steps = steps_of(client, request)
    assert steps[-3].endswith("Outcome: Fulfilled in full")
    ready = f"{package.expires_at.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y-%m-%d %H:%M}"
    assert (
        steps[-2]
        == f"2026-12-01 10:00 Your data was ready to download. The link works until {ready}."
    )
    assert steps[-1] == "2026-12-01 15:00 You downloaded your data."


def test_a_withdrawn_request_never_says_it_was_verified(client, make_request):
    with at(0):
        request = make_request(status=Status.PENDING_VERIFICATION)
        transition(request, to=Status.WITHDRAWN, actor=ACTORS["subject"])
    steps = steps_of(client, RightsRequest.objects.get(pk=request.pk))
    assert steps == [
        "2026-12-01 10:00 We received your request.",
        "2026-12-01 10:00 Status: Withdrawn",
    ]
