"""A subject files a request through the form, verifies with the emailed code, sees status."""

import pytest

from dsar.workflow.models import RightsRequest, Status
from tests.verification.support import code_from_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_file_verify_and_follow_a_request_in_the_browser(browser, live_server_url, screenshot):
    from django.core.cache import cache

    cache.clear()
    # A phone, set to Chinese like most subjects.
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page.goto(f"{live_server_url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "1-home-zh")

    page.click('a[href="/request/deletion/"]')
    page.fill("#id_email", "Zhang.Wei@Example.com")
    page.fill("#id_full_name", "张伟")
    page.fill("#id_description", "<script>alert(1)</script> 请删除我的所有数据")
    screenshot(page, "2-form")
    page.get_by_role("button", name="提交请求").click()
    page.wait_for_url("**/verify/?t=*")

    request = RightsRequest.objects.get()
    assert request.reference in page.content()
    screenshot(page, "3-verify")

    page.fill("#id_code", code_from_outbox(request.pk))
    page.get_by_role("button", name="确认", exact=True).click()
    page.wait_for_url(f"**/requests/{request.pk}/?t=*")
    assert page.locator(".status").inner_text() == "审核中"
    assert page.locator(".description").inner_text().startswith("<script>")
    screenshot(page, "4-status")

    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW

    page.select_option("#language", "en")
    page.get_by_role("button", name="切换", exact=True).click()
    page.wait_for_load_state()
    assert page.locator(".status").inner_text() == "In review"
    screenshot(page, "5-status-en")
