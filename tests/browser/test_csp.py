"""The Content-Security-Policy breaks nothing: chromium, which enforces it, reports no
violation on any page a subject, an agent, a supervisor or an admin opens."""

import pytest
from django.contrib.auth.models import Group

from dsar.verification.tokens import make_status_token
from dsar.workflow.models import Status
from tests.factories import RightsRequestFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


def test_no_page_violates_the_policy(browser, live_server_url, staff_user):
    boss = staff_user("supervisor", "boss")
    boss.groups.add(Group.objects.get_or_create(name="agent")[0])
    boss.set_password(PASSWORD)
    boss.is_staff = boss.is_superuser = True  # the admin site too
    boss.save()
    request = RightsRequestFactory.create(status=Status.IN_REVIEW)
    token = make_status_token(request)

    page = browser.new_page(locale="en-US")
    violations = []
    page.on(
        "console",
        lambda msg: violations.append(f"{page.url}: {msg.text}")
        if "Content Security Policy" in msg.text
        else None,
    )
    for path in ("/", "/request/deletion/", f"/requests/{request.pk}/?t={token}"):
        page.goto(f"{live_server_url}{path}")
    assert page.locator("main").evaluate("e => getComputedStyle(e).maxWidth") != "none"

    page.goto(f"{live_server_url}/staff/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/staff/")
    for path in (
        f"/staff/requests/{request.pk}/",
        "/staff/dashboard/",
        "/admin/",
        "/admin/workflow/rightsrequest/",
        "/api/v1/staff/requests/",  # DRF's browsable API
        "/api/v1/docs/",
    ):
        page.goto(f"{live_server_url}{path}")
        page.wait_for_load_state("networkidle")
    assert page.locator(".swagger-ui").count() == 1
    assert violations == [], "\n".join(violations)
