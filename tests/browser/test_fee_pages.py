"""A cost fee on a repeated request, seen in a real browser: the subject's status page in
both languages at 390 and 1280 px (neither may scroll sideways), accepting the fee there, and
the staff page's controls."""

import re

import pytest
from django.utils import timezone

from dsar.legal import fees
from dsar.legal.models import Fee, FeeStatus, Finding
from dsar.notifications.models import OutboundEmail
from dsar.verification.models import Channel, Method, Strength, Verification
from dsar.workflow.models import RequestType, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.browser.conftest import SCREENSHOTS
from tests.factories import actor_for, path_to

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
TEXT = {
    "en": ("A fee for this request", "Accept the fee", "You accepted the fee."),
    "zh-hans": ("本请求的费用", "接受该费用", "您已接受该费用。"),
}


def verified_access(email, language, status):
    request = create_request(type=RequestType.ACCESS, email=email, language=language)
    Verification.objects.create(
        request=request, method=Method.CODE, channel=Channel.EMAIL, strength=Strength.CONTACT,
        identity_hash=request.email_hash, created_at=timezone.now(),
    )  # fmt: skip
    for to in [Status.IN_REVIEW, *path_to(status, request.type)]:
        request.refresh_from_db()  # with no systems the work completes by itself
        if to != request.status:
            transition(request, to=to, actor=actor_for(request.status, to), outcome="full")
    return request


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"fee-{name}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} is {width} px wide at {label}"
    page.set_viewport_size(PHONE)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_subject_sees_and_accepts_the_fee(browser, live_server_url, staff_user, language):
    email = f"fee-{language}@example.com"
    for _ in range(2):
        verified_access(email, language, Status.COMPLETED)
    request = verified_access(email, language, Status.IN_REVIEW)
    finding = Finding.objects.get(request=request, check_name="repeated_requests")
    agent = staff_user("agent", f"agent-{language}")
    fees.propose_fee(
        request=request,
        user=agent,
        amount="30",
        reason="第三次索取同一份数据。",
        finding=finding.pk,
    )
    notice = OutboundEmail.objects.get(request_id=request.pk, template="fee_proposed").body
    link = re.search(r"https?://\S+", notice).group()
    link = re.sub(r"^https?://[^/]+", live_server_url, link)

    context = browser.new_context(viewport=PHONE, locale=LOCALES[language])
    page = context.new_page()
    page.goto(link)
    page.wait_for_selector("section.fee")
    title, button, accepted = TEXT[language]
    main = page.locator("main").inner_text()
    assert title in main and "30.00 CNY" in main and "第三次索取同一份数据。" in main
    shoot(page, f"{language}-proposed")
    page.check("section.fee input[type=checkbox]")
    page.get_by_role("button", name=button).click()
    page.wait_for_selector("section.fee-accepted")
    assert accepted in page.locator("main").inner_text()
    shoot(page, f"{language}-accepted")
    assert Fee.objects.get(request=request).status == FeeStatus.ACCEPTED

    agent.set_password("pw-fee")
    agent.save()
    staff = context.new_page()
    staff.goto(f"{live_server_url}/staff/login/")
    staff.fill("#id_username", agent.username)
    staff.fill("#id_password", "pw-fee")
    staff.press("#id_password", "Enter")
    staff.wait_for_url(f"{live_server_url}/staff/")
    staff.goto(f"{live_server_url}/staff/requests/{request.pk}/")
    staff.fill("#id_fee_reference", "WX-2026-77")
    shoot(staff, f"{language}-staff")
    staff.locator("#fee form button").click()
    staff.wait_for_load_state()
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    context.close()


AGENT_TEXT = {
    "en": ("Made for you by someone else", "Confirm the request", "You confirmed this request"),
    "zh-hans": ("由他人代您提出", "确认该请求", "您已于"),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_subject_confirms_an_agents_request(browser, live_server_url, staff_user, language):
    from dsar.legal import representation

    request = verified_access(f"agent-{language}@example.com", language, Status.IN_REVIEW)
    representation.record_agent(
        request=request,
        user=staff_user("agent", f"staff-{language}"),
        name="王律师事务所",
        authority="2026年12月1日签署的授权书",
    )
    ask = OutboundEmail.objects.get(request_id=request.pk, template="agent_confirm").body
    link = re.sub(r"^https?://[^/]+", live_server_url, re.search(r"https?://\S+", ask).group())
    context = browser.new_context(viewport=PHONE, locale=LOCALES[language])
    page = context.new_page()
    page.goto(link)
    page.wait_for_selector("section.representation")
    title, button, confirmed = AGENT_TEXT[language]
    assert title in page.locator("main").inner_text()
    shoot(page, f"agent-{language}-asked")
    page.check("section.representation input[type=checkbox]")
    page.get_by_role("button", name=button).click()
    page.wait_for_selector("section.representation .notice")
    assert confirmed in page.locator("main").inner_text()
    shoot(page, f"agent-{language}-confirmed")
    context.close()
