"""The dashboard's charts and the queue on a phone and a desktop, in both languages: chart
text at least 12 px on screen, no two labels or legend entries on top of each other, and no
page wider than the screen."""

import datetime as dt

import pytest
import time_machine

from dsar.workflow.models import RequestType, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every text of every chart: its box on screen and its size in CSS pixels.
CHART_TEXTS = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const box = svg.getBoundingClientRect();
  return {
    box: [box.left, box.top, box.right, box.bottom],
    texts: [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, px: parseFloat(t.getAttribute('font-size')) * scale,
              box: [r.left, r.top, r.right, r.bottom]};
    }),
    swatches: [...svg.querySelectorAll('rect[width="12"]')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: 'legend swatch', box: [r.left, r.top, r.right, r.bottom]};
    }),
  };
})"""
WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@pytest.fixture
def busy(make_request, staff_user):
    supervisor = staff_user("supervisor", "sam")
    supervisor.set_password("correct horse battery")
    supervisor.save()
    now = dt.datetime.now(dt.UTC)
    for weeks_ago in range(12):  # closed requests in every week of the weekly charts
        with time_machine.travel(now - dt.timedelta(weeks=weeks_ago, days=1), tick=False):
            make_request(status=Status.PROCESSING, type=RequestType.ACCESS)  # completes: no system
    for type_ in RequestType.values:  # every type open, in several statuses
        for status in (Status.PENDING_VERIFICATION, Status.IN_REVIEW, Status.AWAITING_SUBJECT):
            if type_ == RequestType.MARKETING_OPT_OUT and status != Status.PENDING_VERIFICATION:
                continue  # a verified opt-out goes straight on to its work, not to review
            make_request(status=status, type=type_)


def log_in(page, url):
    page.goto(f"{url}/staff/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "correct horse battery")
    page.locator("button[type=submit]").last.click()
    page.wait_for_url("**/staff/")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_charts_are_legible_and_pages_fit_phone_and_desktop(
    browser, live_server_url, screenshot, busy, locale
):
    for width in (390, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900}, locale=locale)
        log_in(page, live_server_url)
        scroll, inner = page.evaluate(WIDTH)
        assert scroll <= inner, f"queue overflows at {width}px: {scroll} > {inner}"
        screenshot(page, f"staff-queue-{locale}-{width}")
        page.goto(f"{live_server_url}/staff/dashboard/")
        scroll, inner = page.evaluate(WIDTH)
        assert scroll <= inner, f"dashboard overflows at {width}px: {scroll} > {inner}"
        charts = page.evaluate(CHART_TEXTS)
        assert len(charts) == 4
        for chart in charts:
            shapes = chart["texts"] + chart["swatches"]
            for text in chart["texts"]:
                assert text["px"] >= 12, (width, text)
                left, top, right, bottom = chart["box"]
                assert left - 0.5 <= text["box"][0] and text["box"][2] <= right + 0.5, text
            for i, a in enumerate(shapes):
                for b in shapes[i + 1 :]:
                    assert not overlap(a["box"], b["box"]), (width, a, b)
        screenshot(page, f"staff-dashboard-{locale}-{width}")
        page.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_request_approval_and_refused_pages_fit_phone_and_desktop(
    browser, live_server_url, screenshot, make_request, staff_user, locale
):
    for name, role in (("sam", "supervisor"), ("ana", "agent")):
        user = staff_user(role, name)
        user.set_password("correct horse battery")
        user.save()
    request = make_request(status=Status.IN_REVIEW, type=RequestType.DELETION)
    pages = [
        ("sam", f"/staff/requests/{request.pk}/", "request"),
        ("sam", f"/staff/requests/{request.pk}/confirm-approval/", "confirm-approval"),
        ("ana", "/staff/dashboard/", "forbidden"),
    ]
    for width in (390, 1280):
        for who, path, name in pages:
            page = browser.new_page(viewport={"width": width, "height": 900}, locale=locale)
            page.goto(f"{live_server_url}/staff/login/")
            page.fill("#id_username", who)
            page.fill("#id_password", "correct horse battery")
            page.locator("button[type=submit]").last.click()
            page.wait_for_url("**/staff/")
            page.goto(f"{live_server_url}{path}")
            if name == "request":
                page.locator("details summary").filter(has_text=EXTEND[locale]).click()
            scroll, inner = page.evaluate(WIDTH)
            assert scroll <= inner, f"{name} overflows at {width}px: {scroll} > {inner}"
            screenshot(page, f"staff-{name}-{locale}-{width}")
            page.close()


EXTEND = {"zh-CN": "延长截止日期", "en-US": "Extend the deadline"}
