"""A subject files a request through the form, verifies with the emailed code, sees status;
and follows the emailed links (status, one-click confirmation, download) in fresh browsers,
with and without JavaScript. No address the browser asks for ever carries a link's secret."""

import re

import pytest

from dsar.audit.services import Actor
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.support.subject import code_from_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_limits):
    """Every browser files from 127.0.0.1: earlier tests' intakes must not count."""


def emailed_link(request_id, template: str, base: str) -> str:
    body = (
        OutboundEmail.objects.filter(request_id=request_id, template=template)
        .latest("created_at")
        .body
    )
    link = re.search(r"https?://\S+", body).group()
    return link.replace("http://127.0.0.1:8000", base)


def watch(page) -> list[str]:
    """Every address and Referer the page sends to a server, as a proxy would log them."""
    seen: list[str] = []
    page.on("request", lambda r: seen.extend([r.url, r.headers.get("referer", "")]))
    return seen


def secret_of(link: str) -> str:
    return link.split("#", 1)[1].split("=", 1)[1]


def test_file_verify_and_follow_a_request_in_the_browser(browser, live_server_url, screenshot):
    # A phone, set to Chinese like most subjects.
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    sent = watch(page)
    page.goto(f"{live_server_url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "1-home-zh")

    page.click('a[href="/request/deletion/"]')
    page.fill("#id_email", "Zhang.Wei@Example.com")
    page.fill("#id_full_name", "张伟")
    page.fill("#id_description", "<script>alert(1)</script> 请删除我的所有数据")
    screenshot(page, "2-form")
    page.get_by_role("button", name="提交请求").click()
    page.wait_for_url("**/verify/")

    request = RightsRequest.objects.get()
    assert request.reference in page.content()
    screenshot(page, "3-verify")

    page.fill("#id_code", code_from_outbox(request.pk))
    page.get_by_role("button", name="确认", exact=True).click()
    page.wait_for_url(f"**/requests/{request.pk}/")
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

    # Later, on another device: the status link from the receipt opens the page by itself.
    link = emailed_link(request.pk, "receipt", live_server_url)
    other = browser.new_context(locale="en-US").new_page()
    sent += watch(other)
    other.goto(link)
    other.wait_for_selector(".status")
    assert other.url == f"{live_server_url}/requests/{request.pk}/"  # no secret left in the bar
    assert other.locator(".status").inner_text() == "In review"
    assert not [address for address in sent if secret_of(link) in address]


def test_one_click_link_and_download_in_fresh_browsers(browser, live_server_url, screenshot):
    from dsar.portal import services as portal

    request = portal.file_request(type="access", email="li.lei@example.com", language="en")
    confirm_link = emailed_link(request.pk, "code", live_server_url)
    page = browser.new_context(locale="en-US").new_page()
    sent = watch(page)
    page.goto(confirm_link)
    assert page.locator("#id_k").is_hidden()  # the script took the secret from the fragment
    assert "#" not in page.url
    screenshot(page, "6-confirm")
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PENDING_VERIFICATION
    page.get_by_role("button", name="Yes, I made this request").click()
    page.wait_for_url(f"**/requests/{request.pk}/")
    assert page.locator(".status").inner_text() == "In review"

    transition(RightsRequest.objects.get(pk=request.pk), to=Status.PROCESSING, actor=TEST_STAFF)
    download_link = emailed_link(request.pk, "export_ready", live_server_url)
    page.goto(download_link)
    screenshot(page, "7-download")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download", exact=True).click()
    with open(download.value.path(), "rb") as archive:
        assert archive.read(2) == b"PK"

    secrets = [secret_of(confirm_link), secret_of(download_link)]
    assert not [a for a in sent for secret in secrets if secret in a]


def test_status_link_without_javascript_takes_a_paste(browser, live_server_url, screenshot):
    from dsar.portal import services as portal

    request = portal.file_request(type="deletion", email="li.lei@example.com", language="en")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    link = emailed_link(request.pk, "receipt", live_server_url)
    page = browser.new_context(java_script_enabled=False, locale="en-US").new_page()
    sent = watch(page)
    page.goto(link)
    screenshot(page, "8-open-without-javascript")
    page.fill("#id_t", link)  # the subject pastes the link from the message
    page.get_by_role("button", name="Open my request").click()
    page.wait_for_url(f"**/requests/{request.pk}/")
    assert page.locator(".status").inner_text() == "In review"
    assert not [address for address in sent if secret_of(link) in address]
