"""The status page's timeline with an authorised agent's request and a paid cost fee, in a
real browser: both languages at 390 and 1280 px, neither scrolling sideways, every step
written out and neither the agent's nor a staff member's name in it."""

import re

import pytest

from dsar.legal import fees, representation
from dsar.legal.models import Finding
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import Status
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_fee_pages import DESKTOP, LOCALES, PHONE, verified_access

AGENT_NAME = "王律师事务所"
STEPS = {
    "en": [
        "An authorised agent made this request for you; we asked you to confirm it.",
        "You confirmed that the agent acts for you.",
        "We proposed a cost fee of 30.00 CNY for this request.",
        "You accepted the fee.",
        "We recorded your payment; our time to answer runs again.",
    ],
    "zh-hans": [
        "一位授权代理人代您提出了此请求；我们已请您确认。",
        "您已确认该代理人代表您行事。",
        "我们就此请求提出收取 30.00 CNY 的成本费用。",
        "您已接受该费用。",
        "我们已登记您的付款，答复期限恢复计算。",
    ],
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_timeline_tells_the_agent_and_the_fee(browser, live_server_url, staff_user, language):
    email = f"timeline-{language}@example.com"
    for _ in range(2):
        verified_access(email, language, Status.COMPLETED)
    request = verified_access(email, language, Status.IN_REVIEW)
    agent = staff_user("agent", f"timeline-agent-{language}")
    representation.record_agent(request=request, user=agent, name=AGENT_NAME,
                                authority="2026年12月1日签署的授权书")  # fmt: skip
    representation.confirm_by_subject(request=request)
    finding = Finding.objects.get(request=request, check_name="repeated_requests")
    fees.propose_fee(request=request, user=agent, amount="30", reason="第三次索取同一份数据。",
                     finding=finding.pk)  # fmt: skip
    fees.accept_fee(request=request)
    fees.record_payment(request=request, user=agent, reference="WX-2026-78")
    notice = OutboundEmail.objects.filter(request_id=request.pk, template="fee_proposed").get()
    link = re.search(r"https?://\S+", notice.body).group()
    link = re.sub(r"^https?://[^/]+", live_server_url, link)

    context = browser.new_context(viewport=PHONE, locale=LOCALES[language])
    page = context.new_page()
    page.goto(link)
    page.wait_for_selector("ol.timeline")
    told = page.locator("ol.timeline").inner_text()
    positions = [told.index(step) for step in STEPS[language]]
    assert positions == sorted(positions)  # each step, in the order it happened
    assert "第三次索取同一份数据。" in told
    for absent in (AGENT_NAME, agent.username, "WX-2026-78"):
        assert absent not in told
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"timeline-{language}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page is {width} px wide at {label}"
    context.close()
