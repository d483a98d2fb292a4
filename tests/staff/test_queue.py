"""The queue: filters and sort return exactly the right rows; query counts stay constant."""

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow import identity
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.services import create_request


def refs(response):
    return [row["reference"] for row in response.json()["results"]]


@pytest.fixture
def queue_rows(make_request, staff_user):
    me = staff_user("agent", "me")
    other = staff_user("agent", "other")
    a = make_request(status=Status.IN_REVIEW, type=RequestType.ACCESS)
    b = make_request(status=Status.IN_REVIEW, type=RequestType.DELETION)
    c = make_request(status=Status.PENDING_VERIFICATION, type=RequestType.DELETION)
    d = make_request(status=Status.COMPLETED, type=RequestType.ACCESS)
    RightsRequest.objects.filter(pk=a.pk).update(
        assignee=me, due_at=timezone.now() + dt.timedelta(days=9)
    )
    RightsRequest.objects.filter(pk=b.pk).update(
        assignee=other, due_at=timezone.now() + dt.timedelta(days=2)
    )
    return {"me": me, "a": a.reference, "b": b.reference, "c": c.reference, "d": d.reference}


@pytest.mark.django_db
def test_default_sort_is_by_deadline_with_unverified_last(queue_rows, client):
    client.force_login(queue_rows["me"])
    got = refs(client.get("/api/v1/staff/requests/", {"status": ["in_review"]}))
    assert got == [queue_rows["b"], queue_rows["a"]]
    everything = refs(client.get("/api/v1/staff/requests/"))
    assert everything[:2] == [queue_rows["b"], queue_rows["a"]]
    assert set(everything) == {queue_rows[k] for k in "abcd"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": ["in_review"]}, "ab"),
        ({"status": ["in_review", "completed"]}, "abd"),
        ({"type": ["deletion"]}, "bc"),
        ({"type": ["deletion"], "status": ["pending_verification"]}, "c"),
        ({"assignee": "me"}, "a"),
        ({"assignee": "unassigned"}, "cd"),
        ({"assignee": "nonsense"}, ""),
        ({"assignee": "¹"}, ""),  # a digit to str.isdigit(), not to int(): found by fuzzing
        ({"assignee": "99999999999999999999"}, ""),  # beyond any user id
    ],
)
def test_filters_return_exactly_the_matching_rows(queue_rows, client, params, expected):
    client.force_login(queue_rows["me"])
    got = set(refs(client.get("/api/v1/staff/requests/", params)))
    assert got == {queue_rows[k] for k in expected}


@pytest.mark.django_db
def test_search_by_reference_and_exact_identity(client, staff_user):
    client.force_login(staff_user("agent"))
    target = create_request(type="access", email="Wang.Fang@Example.com", phone="13800138000")
    create_request(type="access", email="wang.fang2@example.com", phone="13900139000")
    for q in [target.reference, target.reference.lower(), "wang.fang@example.com",
              "＋86 138 0013 8000", " WANG.FANG@EXAMPLE.COM "]:  # fmt: skip
        assert refs(client.get("/api/v1/staff/requests/", {"q": q})) == [target.reference], q
    assert refs(client.get("/api/v1/staff/requests/", {"q": "wang.fang"})) == []


@pytest.mark.django_db
def test_bad_filter_values_get_a_400_with_field_messages(client, staff_user):
    client.force_login(staff_user("agent"))
    response = client.get("/api/v1/staff/requests/", {"status": "bogus"})
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def bulk_requests(n: int, *, start: int = 0):
    now = timezone.now()
    RightsRequest.objects.bulk_create(
        RightsRequest(
            id=uuid.uuid4(),
            reference=f"DSAR-2099-{i:06d}",
            type=RequestType.DELETION,
            status=Status.IN_REVIEW,
            email=f"s{i}@example.com",
            email_hash=identity.email_hash(f"s{i}@example.com"),
            received_at=now,
            verified_at=now,
            due_at=now + dt.timedelta(days=i % 20 - 5),
        )
        for i in range(start, start + n)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/staff/requests/", "/staff/"])
def test_query_count_per_page_does_not_grow_with_the_queue(client, staff_user, path):
    client.force_login(staff_user("supervisor"))
    counts = []
    for total in (10, 500):
        already = RightsRequest.objects.count()
        bulk_requests(total - already, start=already)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, {"assignee": "unassigned"})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_filter_by_sla_state(client, staff_user, make_request):
    client.force_login(staff_user("agent"))
    soon, later = make_request(status=Status.IN_REVIEW), make_request(status=Status.IN_REVIEW)
    RightsRequest.objects.filter(pk=soon.pk).update(due_at=timezone.now() + dt.timedelta(days=2))
    RightsRequest.objects.filter(pk=later.pk).update(due_at=timezone.now() + dt.timedelta(days=9))
    got = refs(client.get("/api/v1/staff/requests/", {"sla_state": ["due_soon"]}))
    assert got == [soon.reference]
    page = client.get("/staff/", {"sla_state": ["due_soon"]}).content.decode()
    assert soon.reference in page and later.reference not in page


@pytest.mark.django_db
def test_queue_page_warns_about_a_year_without_holiday_data(client, staff_user):
    client.force_login(staff_user("admin"))  # who can add the overrides (issue 19)
    with time_machine.travel(dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)):
        page = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "does not cover 2027" in page


@pytest.mark.django_db
def test_count_stops_at_the_cap(client, staff_user, monkeypatch):
    from dsar.staff import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 7)
    client.force_login(staff_user("supervisor"))
    bulk_requests(9)
    body = client.get("/api/v1/staff/requests/").json()
    assert (body["count"], body["count_is_capped"]) == (7, True)
    assert len(body["results"]) == 7  # rows past the cap are not reachable
    assert (
        client.get("/api/v1/staff/requests/", {"q": "DSAR-2099-000001"}).json()["count_is_capped"]
        is False
    )


def crm():
    config = json.dumps({"url": "http://127.0.0.1:9/", "secret": "s" * 20})
    return DownstreamSystem.objects.get_or_create(
        name="crm", defaults={"kind": "http", "actions": ["check", "delete"], "config": config}
    )[0]


def task_of(request, status, *, action="delete"):
    FanoutTask.objects.create(
        request_id=request.pk, system=crm(), action=action, status=status,
        next_attempt_at=timezone.now(),
    )  # fmt: skip


@pytest.mark.django_db
def test_an_open_request_with_a_failed_task_is_flagged_and_filtered(
    client, staff_user, make_request
):
    client.force_login(staff_user("agent"))
    failed = make_request(status=Status.PROCESSING)
    fine = make_request(status=Status.PROCESSING)
    dry_run_failed = make_request(status=Status.IN_REVIEW)
    withdrawn = make_request(status=Status.WITHDRAWN)  # closed: nothing left for staff to do
    task_of(failed, TaskStatus.FAILED)
    task_of(fine, TaskStatus.DONE)
    task_of(dry_run_failed, TaskStatus.FAILED, action="check")
    task_of(withdrawn, TaskStatus.FAILED)
    api = "/api/v1/staff/requests/"

    flags = {row["reference"]: row["has_failed_tasks"] for row in client.get(api).json()["results"]}
    assert flags == {
        failed.reference: True, fine.reference: False,
        dry_run_failed.reference: True, withdrawn.reference: False,
    }  # fmt: skip
    assert set(refs(client.get(api, {"has_failed_tasks": "true"}))) == {
        failed.reference, dry_run_failed.reference,
    }  # fmt: skip
    assert set(refs(client.get(api, {"has_failed_tasks": "false"}))) == {
        fine.reference, withdrawn.reference,
    }  # fmt: skip
    assert client.get(f"{api}{failed.pk}/").json()["has_failed_tasks"] is True

    page = client.get("/staff/", {"has_failed_tasks": "true"}, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert failed.reference in html and fine.reference not in html
    assert html.count("Task failed") == 2


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/staff/requests/", "/staff/"])
def test_query_count_with_failed_tasks_does_not_grow_with_the_queue(client, staff_user, path):
    client.force_login(staff_user("supervisor"))
    system = crm()
    counts = []
    for total in (10, 500):
        already = RightsRequest.objects.count()
        bulk_requests(total - already, start=already)
        FanoutTask.objects.bulk_create(
            FanoutTask(
                request=request, system=system, action="delete", next_attempt_at=timezone.now(),
                status=TaskStatus.FAILED if i % 3 == 0 else TaskStatus.DONE,
            )
            for i, request in enumerate(RightsRequest.objects.filter(fanout_tasks__isnull=True))
        )  # fmt: skip
        with CaptureQueriesContext(connection) as flagged:
            response = client.get(path)
        with CaptureQueriesContext(connection) as filtered:
            client.get(path, {"has_failed_tasks": "true"})
        assert response.status_code == 200
        counts.append((len(flagged.captured_queries), len(filtered.captured_queries)))
    assert counts[0] == counts[1], counts
