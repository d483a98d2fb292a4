"""No English on a page shown in Chinese: the staff pages (queue, a request in several
states, the approval step, dashboard, a refused page, login, the admin index) and the portal
pages, each checked text node by text node (``tests.support.untranslated``)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dsar.fanout.models import DownstreamSystem
from dsar.legal import decisions
from dsar.portal.services import file_request
from dsar.staff import hotline
from dsar.staff import services as staff_services
from dsar.verification.services import verify_code
from dsar.workflow.models import RequestType, Status
from tests.support.subject import code_from_outbox, open_pages
from tests.support.untranslated import english_msgids, untranslated

SYSTEMS = ("partner-mail",)
USERS = ("agent-user", "supervisor-user", "legal-user", "root")
DATA = SYSTEMS + USERS


@pytest.fixture
def requests(db, fresh_limits, make_request, staff_user):
    DownstreamSystem.objects.create(
        name="partner-mail", kind="notify", actions=["delete"],
        config=json.dumps({"recipient": "privacy@partner.example.com"}),
    )  # fmt: skip
    agent, supervisor = staff_user("agent"), staff_user("supervisor")
    legal = staff_user("legal")
    waiting = file_request(type=RequestType.ACCESS, email="li@example.com", phone="13912345678")
    review = file_request(type=RequestType.DELETION, email="wang@example.com")
    verify_code(request=review, code=code_from_outbox(review.pk))
    processing = file_request(type=RequestType.DELETION, email="zhao@example.com")
    verify_code(request=processing, code=code_from_outbox(processing.pk))
    staff_services.claim(request=processing, user=agent)
    staff_services.add_note(request=processing, user=agent, body="已致电")
    staff_services.approve(
        request=processing, user=supervisor, acknowledged=[f.pk for f in processing.findings.all()]
    )
    denied = make_request(status=Status.IN_REVIEW, type=RequestType.ACCESS)
    decisions.deny_request(request=denied, user=legal, basis="duplicate", explanation="重复请求")
    done = make_request(status=Status.COMPLETED, type=RequestType.CORRECTION)
    hotline_filed = hotline.file_for_caller(
        user=agent,
        type=RequestType.DELETION,
        channel="hotline",
        caller_said="请删除我的账户",
        account_id="acct-9",
    ).request  # no system answers dry runs here: the evidence route
    return {
        "hotline": hotline_filed,
        "agent": agent, "supervisor": supervisor, "waiting": waiting, "review": review,
        "processing": processing, "denied": denied, "done": done,
    }  # fmt: skip


def staff_pages(requests):
    pages = [
        ("agent", "/staff/"),
        ("agent", "/staff/?state=closed"),
        ("agent", "/staff/dashboard/"),
    ]
    for key in ("waiting", "review", "processing", "denied", "done", "hotline"):
        pages.append(("agent", f"/staff/requests/{requests[key].pk}/"))
    pages.append(("agent", "/staff/requests/new/"))
    pages.append(("agent", f"/staff/requests/{requests['hotline'].pk}/intake/"))
    pages.append(("supervisor", f"/staff/requests/{requests['review'].pk}/confirm-approval/"))
    pages.append(("supervisor", "/staff/dashboard/"))
    return pages


@pytest.mark.django_db
def test_staff_pages_in_chinese_hold_no_english(requests):
    msgids, problems = english_msgids(), {}
    for who, url in staff_pages(requests):
        client = Client()
        client.force_login(requests[who])
        response = client.get(url)
        assert response.status_code in (200, 403), url
        found = untranslated(response.content.decode(), data=DATA, msgids=msgids)
        if found:
            problems[url] = found
    anonymous = Client().get("/staff/login/")
    if found := untranslated(anonymous.content.decode(), data=DATA, msgids=msgids):
        problems["/staff/login/"] = found
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.mark.django_db
def test_the_admin_index_in_chinese_holds_no_english(requests):
    root = get_user_model().objects.create_superuser("root", password="x")
    client = Client()
    client.force_login(root)
    page = client.get("/admin/").content.decode()
    found = untranslated(page, data=DATA)
    assert found == [], json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.django_db
def test_portal_pages_in_chinese_hold_no_english(requests):
    msgids, problems = english_msgids(), {}
    client = Client()
    urls = ["/", "/requests/lookup/"] + [f"/request/{t}/" for t in RequestType.values]
    for url in urls:
        if found := untranslated(client.get(url).content.decode(), data=DATA, msgids=msgids):
            problems[url] = found
    for key in ("waiting", "processing", "denied", "done"):
        subject = open_pages(Client(), requests[key])
        url = f"/requests/{requests[key].pk}/"
        page = subject.get(url).content.decode()
        if found := untranslated(page, data=DATA, msgids=msgids):
            problems[url] = found
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.mark.django_db
def test_the_check_catches_one_untranslated_string(requests):
    """The same queue page with one of its strings left in English fails the check, as does
    the page in English: the check really reads what is shown."""
    client = Client()
    client.force_login(requests["agent"])
    page = client.get("/staff/").content.decode()
    assert untranslated(page, data=DATA) == []
    assert "<h1>工单队列</h1>" in page
    assert untranslated(page.replace("<h1>工单队列</h1>", "<h1>Queue</h1>"), data=DATA) == ["Queue"]
    english = client.get("/staff/", headers={"accept-language": "en"}).content.decode()
    assert "Queue" in untranslated(english, data=DATA)
    # A string never marked for translation is caught by its English words alone.
    unmarked = page.replace("<h1>工单队列</h1>", "<h1>工单队列 pending</h1>")
    assert untranslated(unmarked, data=DATA) == ["工单队列 pending"]
