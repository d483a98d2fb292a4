"""A hotline request: an agent files it in the staff UI for a caller whose number is not on
file, sends the code to the masked mobile a system holds for the account, and the subject
enters the SMS code on the portal; the request shows as verified with its deadline. Pages in
both languages at 390 px and 1280 px, screenshotted (var/screenshots/hotline-*)."""

import re

import pytest
from django.utils import translation

from dsar.notifications.models import OutboundEmail
from dsar.sla import clock
from dsar.workflow.models import RightsRequest, Status
from tests.support.hotline import ON_FILE_PHONE, code_from_text, register_shop, shop_with_phones

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}


def log_in(page, base, username):
    page.goto(f"{base}/staff/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/staff/")


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_agent_files_a_hotline_request_and_the_subject_verifies_by_sms(
    browser, live_server_url, screenshot, staff_user, shop_dsn, fresh_limits
):
    shop_with_phones(shop_dsn)
    register_shop(shop_dsn)
    agent = staff_user("agent", "ana")
    agent.set_password("correct horse battery")
    agent.save()

    # The form in both languages and sizes.
    for language, locale in LOCALES.items():
        for name, viewport in (("390", PHONE), ("1280", DESKTOP)):
            page = browser.new_context(viewport=viewport, locale=locale).new_page()
            log_in(page, live_server_url, "ana")
            page.get_by_role(
                "link", name={"en": "File a request", "zh-hans": "代录请求"}[language]
            ).click()
            page.wait_for_url("**/staff/requests/new/")
            no_sideways_scroll(page)
            screenshot(page, f"hotline-1-form-{language}-{name}")
            page.context.close()

    page = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    log_in(page, live_server_url, "ana")
    page.get_by_role("link", name="File a request").click()
    page.select_option("#id_channel", "hotline")
    page.select_option("#id_type", "deletion")
    page.fill("#id_caller_said", "Caller asks to delete the account and all data.")
    page.fill("#id_account_id", "acct-1")
    page.fill("#id_phone", "139 1234 5678")  # read out on the call; not the number on file
    page.select_option("#id_language", "zh-hans")
    page.get_by_role("button", name="File the request").click()
    page.wait_for_url(re.compile(r"/staff/requests/[0-9a-f-]+/intake/$"))
    request = RightsRequest.objects.get()
    content = page.content()
    assert "138****5678" in content and "l***@example.com" in content
    assert "13800135678" not in content and "13912345678" not in content
    assert not OutboundEmail.objects.exists()  # nothing to the number read out on the call
    screenshot(page, "hotline-2-intake-choose-en-1280")

    page.get_by_label("138****5678").check()
    page.get_by_role("button", name="Send the code").click()
    assert "Code sent to 138****5678." in page.locator(".messages").inner_text()
    assert "138****5678" in page.locator(".sent-to").inner_text()
    sent = OutboundEmail.objects.filter(request_id=request.pk)
    assert {(m.channel, m.to) for m in sent} == {("sms", ON_FILE_PHONE)}
    for language, locale in LOCALES.items():
        for name, viewport in (("390", PHONE), ("1280", DESKTOP)):
            other = browser.new_context(viewport=viewport, locale=locale).new_page()
            log_in(other, live_server_url, "ana")
            other.goto(f"{live_server_url}/staff/requests/{request.pk}/intake/")
            no_sideways_scroll(other)
            screenshot(other, f"hotline-3-intake-sent-{language}-{name}")
            other.context.close()

    # The subject, on their phone: the receipt SMS's status link, then the SMS code.
    receipt = sent.get(template="receipt").body
    link = (
        re.search(r"https?://\S+", receipt)
        .group()
        .replace("http://127.0.0.1:8000", live_server_url)
    )
    subject = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    subject.goto(link)
    subject.wait_for_url(f"**/requests/{request.pk}/")
    subject.goto(f"{live_server_url}/requests/{request.pk}/verify/")
    subject.fill("#id_code", code_from_text(request.pk))
    subject.get_by_role("button", name="确认", exact=True).click()
    subject.wait_for_url(f"**/requests/{request.pk}/")
    assert subject.locator(".status").inner_text() == "审核中"
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW and request.due_at is not None
    with translation.override("zh-hans"):
        shown = clock.format_deadline(request.due_at)
    assert shown in subject.locator("main").inner_text()  # the deadline, as every page shows it
    no_sideways_scroll(subject)
    screenshot(subject, "hotline-4-status-zh-hans-390")
    for language, locale in LOCALES.items():
        for name, viewport in (("390", PHONE), ("1280", DESKTOP)):
            ctx = browser.new_context(viewport=viewport, locale=locale)
            ctx.add_cookies(subject.context.cookies())
            view = ctx.new_page()
            view.goto(f"{live_server_url}/requests/{request.pk}/")
            if language == "en":
                view.select_option("#language", "en")
                view.locator("form.lang button, #language ~ button").first.click()
                view.wait_for_load_state()
                assert view.locator(".status").inner_text() == "In review"
                with translation.override("en"):
                    assert (
                        clock.format_deadline(request.due_at) in view.locator("main").inner_text()
                    )
            no_sideways_scroll(view)
            screenshot(view, f"hotline-5-status-{language}-{name}")
            ctx.close()
