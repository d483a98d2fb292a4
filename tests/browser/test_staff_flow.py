"""An agent works the queue in a real browser: log in, filter, claim, verify, approve."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from tests.support.subject import read_back_code_from_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_filters_claims_verifies_and_approves(
    browser, live_server_url, screenshot, make_request, staff_user
):
    agent = staff_user("agent", "ana")
    agent.set_password("correct horse battery")
    agent.save()
    urgent = make_request(status=Status.IN_REVIEW)
    relaxed = make_request(status=Status.IN_REVIEW)
    RightsRequest.objects.filter(pk=urgent.pk).update(due_at=timezone.now() + dt.timedelta(days=2))
    RightsRequest.objects.filter(pk=relaxed.pk).update(
        due_at=timezone.now() + dt.timedelta(days=10)
    )
    unverified = create_request(type="deletion", email="li.lei@example.com", full_name="李雷")

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.goto(f"{live_server_url}/staff/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/staff/")

    page.select_option("#id_sla_state", "due_soon")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url(re.compile(r"sla_state=due_soon"))
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 1 and urgent.reference in rows.first.inner_text()
    screenshot(page, "staff-1-queue-due-soon")

    page.get_by_role("link", name=urgent.reference).click()
    page.get_by_role("button", name="Claim").click()
    assert "Claimed." in page.locator(".messages").inner_text()
    # A deletion cannot be undone: the approval is a second step that says what will happen.
    page.get_by_role("link", name="Approve…").click()
    assert "This cannot be undone" in page.content()
    screenshot(page, "staff-1b-confirm-approval")
    page.get_by_role("button", name="Approve, knowing this cannot be undone").click()
    assert "Approved." in page.locator(".messages").inner_text()
    urgent.refresh_from_db()
    assert urgent.assignee_id == agent.pk and urgent.status != Status.IN_REVIEW

    page.goto(f"{live_server_url}/staff/requests/{unverified.pk}/")
    assert "li.lei@example.com" not in page.content()  # masked
    # On the phone with the subject: a code goes to the address they gave; they read it back.
    page.get_by_role("button", name="Send a code to l***@example.com").click()
    assert "Code sent" in page.locator(".messages").inner_text()
    page.fill("#id_verify_code", read_back_code_from_outbox(unverified.pk))
    page.get_by_role("button", name="Verify", exact=True).click()
    assert "the clock is running" in page.locator(".messages").inner_text()
    screenshot(page, "staff-2-request")
    # Separation of duties: the agent who verified a deletion does not also approve it.
    assert page.get_by_role("link", name="Approve…").count() == 0
    assert "another staff member approves" in page.content()

    supervisor = staff_user("supervisor", "sam")
    supervisor.set_password("correct horse battery")
    supervisor.save()
    page.context.clear_cookies()
    page.goto(f"{live_server_url}/staff/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server_url}/staff/requests/{unverified.pk}/")
    page.get_by_role("link", name="Approve…").click()
    for box in page.locator('input[name="acknowledged"]').all():
        box.check()  # each advisory finding, read and acknowledged
    page.get_by_role("button", name="Approve, knowing this cannot be undone").click()
    # No downstream system holds data in this test: fan-out has nothing to do and completes.
    page.reload()
    assert page.locator(".summary .status").inner_text() == "Completed"
    unverified.refresh_from_db()
    assert (unverified.status, unverified.outcome) == (Status.COMPLETED, "full")


def test_legal_reviewer_denies_with_a_basis(
    browser, live_server_url, screenshot, make_request, staff_user
):
    reviewer = staff_user("legal", "lee")
    reviewer.set_password("correct horse battery")
    reviewer.save()
    request = make_request(status=Status.IN_REVIEW)

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.goto(f"{live_server_url}/staff/login/")
    page.fill("#id_username", "lee")
    page.fill("#id_password", "correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server_url}/staff/requests/{request.pk}/")
    page.get_by_text("Deny this request").click()
    page.select_option("#id_basis", "trade_secret")
    page.fill("#id_explanation", "The scoring model is a trade secret.")
    screenshot(page, "staff-3-deny")
    page.get_by_role("button", name="Deny", exact=True).click()
    assert "Denied" in page.locator(".messages").inner_text()
    request.refresh_from_db()
    assert request.status == Status.DENIED
    assert page.get_by_role("button", name="Deny", exact=True).count() == 0
