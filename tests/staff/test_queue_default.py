"""The queue page's default: open requests only, most urgent first; a filter shows closed ones."""

import pytest

from dsar.workflow.models import RequestType, Status


@pytest.fixture
def rows(make_request, staff_user):
    return {
        "open": make_request(status=Status.IN_REVIEW, type=RequestType.ACCESS).reference,
        "waiting": make_request(status=Status.PENDING_VERIFICATION).reference,
        "done": make_request(status=Status.COMPLETED, type=RequestType.ACCESS).reference,
        "denied": make_request(status=Status.DENIED).reference,
        "agent": staff_user("agent"),
    }


def shown(client, params=None):
    page = client.get("/staff/", params or {}).content.decode()
    return page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, {"open", "waiting"}),
        ({"assignee": ""}, {"open", "waiting"}),  # the filter form sent back with nothing chosen
        ({"state": "closed"}, {"done", "denied"}),
        ({"state": "all"}, {"open", "waiting", "done", "denied"}),
        ({"status": ["completed"]}, {"done"}),
    ],
)
def test_the_default_queue_holds_open_requests_and_a_filter_shows_closed(
    client, rows, params, expected
):
    client.force_login(rows["agent"])
    page = shown(client, params)
    for key in ("open", "waiting", "done", "denied"):
        assert (f">{rows[key]}</a>" in page) is (key in expected), key


@pytest.mark.django_db
def test_a_search_by_reference_finds_a_closed_request(client, rows):
    client.force_login(rows["agent"])
    assert f">{rows['done']}</a>" in shown(client, {"q": rows["done"]})


@pytest.mark.django_db
def test_the_api_offers_the_same_filter(client, rows):
    client.force_login(rows["agent"])
    got = client.get("/api/v1/staff/requests/", {"state": "closed"}).json()["results"]
    assert {r["reference"] for r in got} == {rows["done"], rows["denied"]}
    bad = client.get("/api/v1/staff/requests/", {"state": "nonsense"})
    assert bad.status_code == 400 and "state" in bad.json()["error"]["fields"]
