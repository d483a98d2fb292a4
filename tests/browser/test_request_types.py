"""Each request type from the form to its final status page, in Chinese and English, on a
390 px phone and a 1280 px desktop; a status lookup; and an export reviewed in the staff page,
a field withheld and the package downloaded without it.

One browser for the module and one gunicorn (the ``server_process`` fixture keeps it per
module). The subject's side goes through the pages; the back office (approval, decisions on
corrections, the end of cooling-off) through the services, since its pages are not what is
tested here — except for the export review, which is. Screenshots land in var/screenshots/.
"""

import io
import json
import os
import re
import struct
import zipfile
import zlib

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import connections
from django.utils import timezone, translation

from dsar.branding.models import Branding
from dsar.corrections import services as corrections
from dsar.corrections.models import Correction
from dsar.fanout import cancellation
from dsar.fanout.models import DownstreamSystem
from dsar.legal.selectors import advisories_to_acknowledge
from dsar.notifications.models import OutboundEmail
from dsar.staff import services as staff_services
from dsar.workflow.models import RightsRequest, Status
from tests.browser.conftest import CHROMIUM, SCREENSHOTS
from tests.support.packages import system_rows
from tests.support.signing import SECRET
from tests.support.subject import code_from_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}


@pytest.fixture(scope="module")
def chromium():
    """One browser for every test of the module (a launch costs about a second)."""
    if not CHROMIUM.exists():
        message = "Debian's chromium is missing: run .ci/ensure-browser (make test does)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's loop runs in this thread; the test's ORM calls stay synchronous.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            yield instance
            instance.close()
    connections.close_all()


@pytest.fixture(autouse=True)
def _fresh(fresh_limits):
    """Every browser files from 127.0.0.1: earlier tests' intakes must not count."""


def tiny_png(size: int = 24) -> bytes:
    """A real PNG (a blue square), so the browser has something to draw."""
    raw = b"".join(b"\x00" + b"\x0b\x4f\x8a" * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )  # fmt: skip


@pytest.fixture
def company(db):
    """The company's branding, its logo in the default storage gunicorn reads too."""
    row = Branding(
        name_zh="顺风出行", name_en="Swift Rides", contact_email="privacy@rides.example",
        contact_phone="400-800-1234", privacy_url_zh="https://rides.example/zh/privacy",
        privacy_url_en="https://rides.example/en/privacy",
    )  # fmt: skip
    row.logo.save("test-logo.png", ContentFile(tiny_png()), save=False)
    row.save()
    yield row
    row.logo.delete(save=False)


@pytest.fixture
def agent(staff_user):
    return staff_user("agent", "agent-browser")


@pytest.fixture
def tab(chromium):
    """A new page in a fresh context (no cookies): tab(language)."""
    contexts = []

    def make(language: str, viewport=PHONE):
        context = chromium.new_context(viewport=viewport, locale=LOCALES[language])
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shoot(page, name: str) -> None:
    """A full-page screenshot at both widths; neither may scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"types-{name}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} is {width} px wide at {label}"
    page.set_viewport_size(PHONE)


def label(choice, language: str) -> str:
    with translation.override(language):
        return str(choice.label)


def file_and_verify(page, base: str, type_: str, language: str) -> RightsRequest:
    """The subject fills the form and enters the code the outbox holds for them."""
    page.goto(f"{base}/request/{type_}/")
    assert page.locator("html").get_attribute("lang") == language
    page.fill("#id_email", f"{type_}.{language}@example.com")
    page.fill("#id_full_name", "李雷" if language == "zh-hans" else "Li Lei")
    if type_ == "correction":
        page.fill("#id_corrections-0-field", "name")
        page.fill("#id_corrections-0-current_value", "Li Le")
        page.fill("#id_corrections-0-proposed_value", "Li Lei")
    shoot(page, f"{type_}-{language}-1-form")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/verify/")
    request = RightsRequest.objects.latest("received_at")  # the one just filed
    page.fill("#id_code", code_from_outbox(request.pk))
    page.click("main form[method=post] button[type=submit] >> nth=0")
    page.wait_for_url(f"**/requests/{request.pk}/")
    assert page.locator(".status").inner_text() == label(Status.IN_REVIEW, language)
    return RightsRequest.objects.get(pk=request.pk)


def finish(request: RightsRequest, agent) -> RightsRequest:
    """The back office takes the request to its end, through the services."""
    if request.type == "correction":
        for c in Correction.objects.filter(request=request):
            corrections.decide(correction=c, user=agent, accept=True, target_field="full_name")
    advisories = advisories_to_acknowledge(request)
    staff_services.approve(request=request, user=agent, acknowledged=[f.pk for f in advisories])
    request.refresh_from_db()
    if request.type == "cancellation":
        assert request.status == Status.COOLING_OFF
        later = request.cooling_off_ends_at + timezone.timedelta(seconds=1)
        assert cancellation.end_one(request.pk, now=later)
        request.refresh_from_db()
    return request


# What each type's final page must say, in each language.
FINAL = {
    "access": {"en": "Download your data", "zh-hans": "下载您的数据"},
    "correction": {"en": "Not changed: none of our systems holds this data.",
                   "zh-hans": "未更改：我们的系统均未保存这项数据。"},
    "deletion": {"en": "Fulfilled in full", "zh-hans": "全部满足"},
    "cancellation": {"en": "Fulfilled in full", "zh-hans": "全部满足"},
}  # fmt: skip


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("type_", ["access", "correction", "deletion", "cancellation"])
def test_a_request_from_the_form_to_its_final_page(
    tab, live_server_url, company, agent, type_, language
):
    page = tab(language)
    request = file_and_verify(page, live_server_url, type_, language)
    shoot(page, f"{type_}-{language}-2-in-review")
    request = finish(request, agent)
    assert request.status == Status.COMPLETED
    page.reload()
    assert page.locator(".status").inner_text() == label(Status.COMPLETED, language)
    body = page.locator("main").inner_text()
    assert FINAL[type_][language] in body
    assert page.locator(".timeline .step-received").count() == 1
    assert page.locator(".timeline .step-verified").count() == 1
    assert page.locator(".timeline .step-outcome").count() == 1
    assert page.locator("header.site .brand").inner_text() == (
        "顺风出行" if language == "zh-hans" else "Swift Rides"
    )
    # The logo loads (CSP allows it: same origin) and is drawn.
    assert page.evaluate("document.querySelector('header.site img.logo').naturalWidth") == 24
    assert not page.locator("text=agent-browser").count()  # no staff name anywhere
    assert page.locator("#withdraw-title").count() == 0  # closed: nothing to withdraw
    shoot(page, f"{type_}-{language}-3-final")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_status_lookup_sends_the_link_again(tab, live_server_url, company, language):
    from dsar.portal import services as portal

    request = portal.file_request(type="deletion", email="lost@example.com", language=language)
    page = tab(language)
    page.goto(f"{live_server_url}/requests/lookup/")
    page.fill("#id_reference", request.reference)
    page.fill("#id_contact", "Lost@Example.com")
    shoot(page, f"lookup-{language}-1-form")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".notice")
    shoot(page, f"lookup-{language}-2-sent")
    message = OutboundEmail.objects.filter(request_id=request.pk, template="status_link").get()
    link = (
        re.search(r"https?://\S+", message.body)
        .group()
        .replace("http://127.0.0.1:8000", live_server_url)
    )
    other = tab(language)
    other.goto(link)
    other.wait_for_selector(".status")
    assert other.url == f"{live_server_url}/requests/{request.pk}/"
    assert request.reference in other.locator("h1").inner_text()


def test_an_export_reviewed_and_redacted_in_the_staff_page(
    tab, live_server_url, company, agent, staff_user, downstream, settings
):
    from dsar.portal import services as portal

    settings.DSAR_EXPORT_REVIEW_TYPES = ["access"]
    downstream.answers = [(200, {"rows": [
        {"table": "profile", "name": "Li Lei", "risk_note": "watch list"},
        {"table": "trips", "trip": "T-1", "driver": "Wang Wu"},
    ]})]  # fmt: skip
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["export"],
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    request = portal.file_request(type="access", email="li.lei@example.com", language="zh-hans")
    from dsar.verification import services as verification

    verification.verify_code(request=request, code=code_from_outbox(request.pk))
    staff_services.approve(request=RightsRequest.objects.get(pk=request.pk), user=agent)
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED
    assert not OutboundEmail.objects.filter(request_id=request.pk, template="export_ready")

    subject = tab("zh-hans")
    # The receipt's link opens the page; the page says the data is being checked.
    receipt = OutboundEmail.objects.get(request_id=request.pk, template="receipt").body
    subject.goto(re.search(r"https?://\S+", receipt).group().replace(
        "http://127.0.0.1:8000", live_server_url))  # fmt: skip
    subject.wait_for_selector(".status")
    assert "正在发送前进行核查" in subject.locator("main").inner_text()
    shoot(subject, "export-zh-1-being-checked")

    legal = staff_user("legal", "legal-browser")
    legal.set_password("pw-legal-browser")
    legal.save()
    staff = tab("en", DESKTOP)
    staff.goto(f"{live_server_url}/staff/login/")
    staff.fill("#id_username", "legal-browser")
    staff.fill("#id_password", "pw-legal-browser")
    staff.get_by_role("button", name="Log in").click()
    staff.wait_for_url(f"{live_server_url}/staff/")
    staff.goto(f"{live_server_url}/staff/requests/{request.pk}/")
    staff.click(".export-review a")
    staff.wait_for_url("**/export-review/")
    profile = staff.locator("section.card", has_text="profile")
    profile.locator("select[name=field]").select_option("risk_note")
    profile.locator("input[name=reason]").fill("Internal risk assessment")
    profile.locator("form.redact button").click()
    staff.wait_for_selector("td.withheld")
    assert staff.locator("td.withheld").inner_text() == "watch list"
    shoot(staff, "export-en-2-review")
    staff.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server_url}]
    )
    staff.reload()
    assert "发布给个人信息主体" in staff.locator("main").inner_text()
    shoot(staff, "export-zh-2-review")
    staff.click("button[value=release]")
    staff.wait_for_url(f"**/staff/requests/{request.pk}/")

    ready = OutboundEmail.objects.get(request_id=request.pk, template="export_ready").body
    subject.reload()
    shoot(subject, "export-zh-3-ready")
    with subject.expect_download() as download:
        subject.click("#download-title ~ form button[type=submit]")
    with open(download.value.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    rows = system_rows(archive, "crm")
    assert rows == [{"table": "profile", "name": "Li Lei"},
                    {"table": "trips", "trip": "T-1", "driver": "Wang Wu"}]  # fmt: skip
    assert "watch list" not in archive.read("index.html").decode()
    assert "/exports/#t=" in ready
    assert User.objects.filter(username="legal-browser").exists()
