"""An open obligation a system's dry run reported is asked again when staff approve or ask for
it: once resolved downstream it no longer blocks; while it stands, it still does."""

import json

import pytest

from dsar.audit.models import AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import dispatch
from dsar.fanout.cancellation import end_cooling_off
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.legal.models import Finding
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.fanout.test_cancellation import cooling_cancellation
from tests.support.shop import shop_rows
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db(transaction=True)

# li.lei has two orders of 10 and 20: open while unpaid (total <= 20 in this shop).
OPEN_ORDERS = (
    "SELECT 'open_order' AS obligation FROM orders WHERE email = %(email)s AND total <= 20"
)
PAY_ORDERS = "UPDATE orders SET total = 100 WHERE email = 'li.lei@example.com' RETURNING id"


def shop(dsn):
    statements = {
        "check": OPEN_ORDERS,
        "close_account": "UPDATE customers SET name = 'closed' WHERE email = %(email)s",
        "delete": "DELETE FROM customers WHERE email = %(email)s",
    }
    return DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check", "close_account", "delete"],
        config=json.dumps({"dsn": dsn, "statements": statements}),
    )  # fmt: skip


def cancellation_in_review():
    request = create_request(type="cancellation", email="li.lei@example.com", account_id="acct-1")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    return request


def obligation_blocks(request) -> bool:
    found = Finding.objects.filter(request=request, check_name="open_obligations")
    return any(f.blocks for f in found)


def approve(api, request):
    return api.post(f"/api/v1/staff/requests/{request.pk}/approve/")


def status_of(request) -> str:
    return RightsRequest.objects.get(pk=request.pk).status


def test_an_obligation_resolved_downstream_stops_blocking_once_approval_asked_again(
    shop_dsn, api_as
):
    shop(shop_dsn)
    request = cancellation_in_review()
    assert obligation_blocks(request)
    first_key = FanoutTask.objects.get(action="check").idempotency_key
    shop_rows(shop_dsn, PAY_ORDERS)  # the subject paid: resolved downstream, nobody told us
    agent = api_as("agent")

    waiting = approve(agent, request)
    assert waiting.status_code == 409
    error = waiting.json()["error"]
    assert error["code"] == "recheck_pending"
    assert "Re-checking downstream obligations with shop" in error["message"]
    assert "try again when the check has answered" in error["message"]
    assert status_of(request) == Status.IN_REVIEW
    check = FanoutTask.objects.get(action="check")
    assert check.status == TaskStatus.DONE and check.idempotency_key != first_key
    assert not obligation_blocks(request)  # the fresh answer cleared it

    assert approve(agent, request).status_code == 200
    assert status_of(request) == Status.COOLING_OFF
    [asked] = AuditEvent.objects.filter(request_id=request.pk, action="fanout.recheck_asked")
    assert asked.payload == {"reason": "approval", "systems": ["shop"]}
    assert asked.actor_kind == "staff"


def test_an_obligation_still_open_on_the_fresh_answer_keeps_blocking(shop_dsn, api_as):
    shop(shop_dsn)
    request = cancellation_in_review()
    agent = api_as("agent")
    assert approve(agent, request).json()["error"]["code"] == "recheck_pending"
    refused = approve(agent, request)  # decided on the fresh answer: the orders are open
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    assert "open obligations" in refused.json()["error"]["message"]
    assert status_of(request) == Status.IN_REVIEW
    # That answer is used up: a later approval asks again rather than trusting it.
    assert approve(agent, request).json()["error"]["code"] == "recheck_pending"
    assert (
        AuditEvent.objects.filter(request_id=request.pk, action="fanout.recheck_asked").count() == 2
    )


def test_approval_waits_for_a_fresh_check_that_has_not_answered(shop_dsn, api_as, monkeypatch):
    shop(shop_dsn)
    request = cancellation_in_review()
    shop_rows(shop_dsn, PAY_ORDERS)
    monkeypatch.setattr("dsar.fanout.rechecks.publish", lambda ids: None)  # no worker yet
    agent = api_as("agent")
    assert approve(agent, request).json()["error"]["code"] == "recheck_pending"
    check = FanoutTask.objects.get(action="check")
    assert check.status == TaskStatus.PENDING and check.recheck_asked_at is not None
    assert approve(agent, request).json()["error"]["code"] == "recheck_pending"
    assert FanoutTask.objects.get(action="check").idempotency_key == check.idempotency_key
    assert obligation_blocks(request)

    dispatch.run_tasks([str(check.pk)])  # the worker gets to it
    assert approve(agent, request).status_code == 200
    assert status_of(request) == Status.COOLING_OFF


def test_staff_ask_for_a_fresh_check_and_a_resolved_obligation_is_cleared(shop_dsn, api_as):
    shop(shop_dsn)
    request = cancellation_in_review()
    shop_rows(shop_dsn, PAY_ORDERS)
    url = f"/api/v1/staff/requests/{request.pk}/recheck/"
    assert api_as("legal").post(url).status_code == 403
    agent = api_as("agent")
    detail = agent.get(f"/api/v1/staff/requests/{request.pk}/").json()
    assert "recheck" in detail["allowed_actions"]

    answer = agent.post(url)
    assert (answer.status_code, answer.json()) == (202, {"asked": 1})
    assert not obligation_blocks(request)
    [asked] = AuditEvent.objects.filter(request_id=request.pk, action="fanout.recheck_asked")
    assert asked.payload == {"reason": "staff", "systems": ["shop"]}
    assert approve(agent, request).status_code == 200  # nothing left to ask about


def test_a_fresh_check_unlocks_a_cancellation_held_at_the_end_of_cooling_off(shop_dsn, api_as):
    shop(shop_dsn)
    request = cooling_cancellation("han.mei@example.com")
    shop_rows(shop_dsn, "INSERT INTO orders (email, total) VALUES ('han.mei@example.com', 5) "
              "RETURNING id")  # fmt: skip
    assert end_cooling_off() == 0  # an order placed during cooling-off holds it
    shop_rows(shop_dsn, "UPDATE orders SET total = 100 WHERE total = 5 RETURNING id")
    assert end_cooling_off() == 0  # the stored answer still says open
    assert status_of(request) == Status.COOLING_OFF

    assert api_as("agent").post(f"/api/v1/staff/requests/{request.pk}/recheck/").status_code == 202
    assert status_of(request) == Status.COMPLETED  # the answer moved it on: closed, deleted
    assert shop_rows(shop_dsn, "SELECT email FROM customers") == [("li.lei@example.com",)]


def test_recheck_is_refused_once_the_work_has_started(api_as):
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    api = api_as("agent")
    assert approve(api, request).status_code == 200
    assert status_of(request) == Status.COMPLETED  # no downstream system: done at once
    refused = api.post(f"/api/v1/staff/requests/{request.pk}/recheck/")
    assert refused.status_code == 409
    assert "only while it is in review" in refused.json()["error"]["message"]
    assert not AuditEvent.objects.filter(action="fanout.recheck_asked").exists()


def test_a_failed_fresh_check_says_so_and_the_next_approval_tries_again(downstream, api_as):
    DownstreamSystem.objects.create(
        name="wallet", kind="http", actions=["check"], timeout_seconds=1,
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    downstream.answers = [
        (200, {"obligations": [{"kind": "balance"}]}),  # at review
        (400, {"error": "account locked"}),  # the fresh check approval asks for
        (200, {"obligations": []}),  # the next one: the balance was paid
    ]
    request = cancellation_in_review()
    assert obligation_blocks(request)
    agent = api_as("agent")
    assert approve(agent, request).json()["error"]["code"] == "recheck_pending"
    failed = approve(agent, request)
    assert failed.status_code == 409 and failed.json()["error"]["code"] == "recheck_failed"
    assert "dry run of wallet failed" in failed.json()["error"]["message"]
    listed = agent.get("/api/v1/staff/requests/", {"has_failed_tasks": "true"}).json()
    assert [row["reference"] for row in listed["results"]] == [request.reference]

    assert approve(agent, request).json()["error"]["code"] == "recheck_pending"
    assert approve(agent, request).status_code == 200
    assert status_of(request) == Status.COOLING_OFF


def test_the_staff_page_offers_the_fresh_check_and_explains_the_wait(shop_dsn, client, staff_user):
    shop(shop_dsn)
    request = cancellation_in_review()
    client.force_login(staff_user("agent"))
    page = client.get(f"/staff/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f"/staff/requests/{request.pk}/recheck/" in page.content.decode()
    answer = client.post(
        f"/staff/requests/{request.pk}/approve/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Re-checking downstream obligations with shop" in answer.content.decode()
    answer = client.post(
        f"/staff/requests/{request.pk}/recheck/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "1 system asked for a fresh dry run" in answer.content.decode()
