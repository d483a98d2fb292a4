"""A deceased subject's relative files on the public form in a real browser (PIPL Art. 49):
the "asking for someone else" part opened, the documents uploaded, the relative's own code
entered, the status page saying legal reviews next. In Chinese (no English left on the page)
and English, at 390 and 1280 px (neither may scroll sideways)."""

import os
from pathlib import Path

import pytest

from dsar.legal.models import Representation
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import RightsRequest, Status
from tests.browser.test_request_types import tiny_png
from tests.support.subject import code_from_outbox
from tests.support.untranslated import untranslated

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
SHOTS = Path(os.environ.get("DSAR_RELATIVE_SHOTS", "var/screenshots"))
TEXT = {
    "zh-hans": ("为他人提出请求？", "逝者的近亲属", "您作为近亲属提出的请求", "子女"),
    "en": ("Asking for someone else?", "A close relative of a deceased person",
           "Your request as a close relative", "Child"),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh(fresh_limits):
    """Every browser files from 127.0.0.1: earlier tests' intakes must not count."""


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SHOTS / f"relative-{name}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} is {width} px wide at {label}"
    page.set_viewport_size(PHONE)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_relative_files_on_the_form(browser, live_server_url, language, tmp_path):
    summary, choice, section, relationship = TEXT[language]
    context = browser.new_context(viewport=PHONE, locale=LOCALES[language])
    page = context.new_page()
    page.goto(f"{live_server_url}/request/access/")
    assert page.locator("html").get_attribute("lang") == language
    page.get_by_text(summary).click()
    page.get_by_label(choice).check()
    shoot(page, f"{language}-form")
    if language == "zh-hans":
        assert untranslated(page.content()) == []
    relative = f"relative.{language}@example.com"
    page.fill("#id_email", relative)
    page.fill("#id_full_name", "张三" if language == "zh-hans" else "Zhang San")
    page.select_option("#id_relationship", label=relationship)
    page.fill("#id_lawful_interest", "处理父亲的遗产" if language == "zh-hans" else "The estate")
    page.fill("#id_deceased_name", "李雷")
    page.fill("#id_deceased_email", f"deceased.{language}@example.com")
    certificate, proof = tmp_path / "certificate.png", tmp_path / "hukou.png"
    certificate.write_bytes(tiny_png())
    proof.write_bytes(tiny_png(32))
    page.set_input_files("#id_death_certificate", str(certificate))
    page.set_input_files("#id_relationship_proof", str(proof))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/verify/")
    request = RightsRequest.objects.get()
    assert Representation.objects.get(request=request).kind == "relative"
    assert {m.to for m in OutboundEmail.objects.filter(request_id=request.pk)} == {relative}
    page.fill("#id_code", code_from_outbox(request.pk))
    page.click("main form[method=post] button[type=submit] >> nth=0")
    page.wait_for_url(f"**/requests/{request.pk}/")
    page.wait_for_selector("section.relative")
    assert section in page.locator("main").inner_text()
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    shoot(page, f"{language}-status")
    if language == "zh-hans":
        assert untranslated(page.content(), data=(request.reference,)) == []
    context.close()
