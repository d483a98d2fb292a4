"""The http connector's v1 additions against a real HTTP peer: export paging and its bounds,
and callbacks signed with a previous secret."""

import hashlib
import hmac
import json
import time

import pytest

from dsar.exports.models import ExportPart
from dsar.exports.parts import system_data
from dsar.fanout.connectors import DONE, FAILED, RETRY, SubjectKeys, http
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.support.signing import SECRET

KEYS = SubjectKeys(email="li.lei@example.com", account_id="acct-1")
KEY = "6f1c2a8e-0d5b-4c7e-9a31-2f4b8d6e1c09"


def export(downstream, **config):
    return http.run(
        config={"url": downstream.url, "secret": SECRET, **config}, action="export",
        keys=KEYS, idempotency_key=KEY, timeout=2,
    )  # fmt: skip


def test_an_export_in_pages_is_gathered_by_asking_again_with_each_cursor(downstream):
    downstream.answers = [
        (200, {"rows": [{"order": 1}, {"order": 2}], "next": "page-2"}),
        (200, {"rows": [{"order": 3}], "next": "page-3"}),
        (200, {"rows": [{"order": 4}]}),
    ]
    outcome = export(downstream)
    assert outcome.state == DONE
    assert [row["order"] for row in outcome.data["rows"]] == [1, 2, 3, 4]
    assert outcome.data["pages"] == 3
    # The same request each time (same key, signed afresh: the peer verified all three), plus
    # the cursor it was given.
    assert [body.get("cursor") for body in downstream.received] == [None, "page-2", "page-3"]
    assert {body["idempotency_key"] for body in downstream.received} == {KEY}
    assert downstream.bad_signatures == 0


def test_a_repeated_cursor_fails_the_export_instead_of_looping(downstream):
    downstream.answers = [
        (200, {"rows": [{"order": 1}], "next": "a"}),
        (200, {"rows": [{"order": 2}], "next": "b"}),
        (200, {"rows": [{"order": 2}], "next": "a"}),
    ]
    outcome = export(downstream)
    assert (outcome.state, outcome.detail) == (
        FAILED, "export page 3 repeats the cursor of an earlier page",
    )  # fmt: skip
    assert len(downstream.received) == 3


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ({"rows": {"order": 2}}, 'export page 2: "rows" is not a list'),
        ({"rows": ["order 2"]}, "export page 2: every row must be a JSON object"),
        ({"rows": [], "next": 7}, 'export page 2: "next" must be a string'),
    ],
)
def test_a_page_that_breaks_paging_fails_with_the_reason(downstream, page, reason):
    downstream.answers = [(200, {"rows": [{"order": 1}], "next": "p2"}), (200, page)]
    outcome = export(downstream)
    assert outcome.state == FAILED and outcome.detail.startswith(reason)


def test_a_page_without_our_key_is_not_taken(downstream):
    downstream.echo_key = False
    first = {"idempotency_key": KEY, "rows": [], "next": "p2"}
    downstream.answers = [(200, first), (200, {"rows": []})]
    outcome = export(downstream)
    assert outcome.state == FAILED
    assert (
        outcome.detail == "export page 2: HTTP 200 without our idempotency key: not taken as done"
    )


def test_a_server_error_on_a_later_page_retries_the_export(downstream):
    downstream.answers = [(200, {"rows": [{"order": 1}], "next": "p2"}), (503, {})]
    outcome = export(downstream)
    assert (outcome.state, outcome.detail) == (RETRY, "export page 2: HTTP 503")


def test_an_export_that_never_stops_paging_is_bounded(downstream, monkeypatch):
    monkeypatch.setattr(http, "MAX_EXPORT_PAGES", 5)
    downstream.before_answer = lambda body: downstream.answers.__setitem__(
        0, (200, {"rows": [{"n": 1}], "next": f"after-{body.get('cursor', '')}"})
    )
    outcome = export(downstream)
    assert (outcome.state, outcome.detail) == (FAILED, "export of more than 5 pages: not taken")
    assert len(downstream.received) == 5


def test_an_export_of_too_many_rows_is_bounded(downstream, monkeypatch):
    monkeypatch.setattr(http, "MAX_EXPORT_ROWS", 3)
    downstream.answers = [(200, {"rows": [{"n": 1}, {"n": 2}], "next": "p2"}),
                          (200, {"rows": [{"n": 3}, {"n": 4}]})]  # fmt: skip
    outcome = export(downstream)
    assert (outcome.state, outcome.detail) == (FAILED, "export of more than 3 rows: not taken")


@pytest.mark.django_db(transaction=True)
def test_every_page_of_an_export_lands_in_the_access_package(downstream):
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["export"],
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    downstream.answers = [(200, {"rows": [{"order": "A-1"}], "next": "p2"}),
                          (200, {"rows": [{"order": "A-2"}]})]  # fmt: skip
    request = create_request(type="access", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=TEST_STAFF)
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    task = FanoutTask.objects.get(request=request)
    assert (task.status, task.result["rows"]) == (TaskStatus.DONE, 2)
    part = ExportPart.objects.get(task=task)
    [table] = system_data(part).tables  # the pages were written to the part as they came
    assert [row["order"] for row in table.rows()] == ["A-1", "A-2"]


def _callback(client, task, secret):
    body = json.dumps({"idempotency_key": str(task.idempotency_key), "status": "done"})
    stamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/callbacks/{task.pk}/", body, content_type="application/json",
        headers={"X-DSAR-Timestamp": stamp, "X-DSAR-Signature": mac},
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("signing", "status"), [("old-secret-still-valid", 200),
                                                 ("never-this-systems-secret", 401)])  # fmt: skip
def test_a_callback_signed_with_a_previous_secret_is_accepted_during_a_rotation(
    downstream, client, signing, status
):
    config = {
        "url": downstream.url,
        "secret": SECRET,
        "previous_secrets": ["old-secret-still-valid"],
    }
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"], config=json.dumps(config)
    )
    downstream.answers = [(202, {})]
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=TEST_STAFF)
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    task = FanoutTask.objects.get(request=request)
    assert _callback(client, task, signing).status_code == status
    task.refresh_from_db()
    assert task.status == (TaskStatus.DONE if status == 200 else TaskStatus.WAITING)


def test_previous_secrets_must_be_a_list_of_real_secrets():
    connector = http.Http()
    base = {"url": "http://127.0.0.1:9100/", "secret": SECRET}
    assert connector.config_errors({**base, "previous_secrets": ["an-old-shared-secret"]}) == []
    for bad in ("an-old-shared-secret", ["short"], [None]):
        assert connector.config_errors({**base, "previous_secrets": bad}) == [
            'Give "previous_secrets" as a list of secrets of at least 16 characters.'
        ]


class Pages:
    """A sink that records each batch of rows it is handed."""

    def __init__(self):
        self.batches = []

    def write(self, rows):
        self.batches.append(list(rows))


def test_a_streamed_export_hands_each_page_on_as_it_comes_and_bounds_a_page(
    downstream, monkeypatch
):
    pages = [(200, {"rows": [{"n": 1}, {"n": 2}], "next": "p2"}), (200, {"rows": [{"n": 3}]})]
    downstream.answers = list(pages)
    sink = Pages()
    outcome = http.run(
        config={"url": downstream.url, "secret": SECRET}, action="export", keys=KEYS,
        idempotency_key=KEY, timeout=2, export_to=sink,
    )  # fmt: skip
    assert outcome.state == DONE and "rows" not in outcome.data
    assert (outcome.data["row_count"], outcome.data["pages"]) == (3, 2)
    assert sink.batches == [[{"n": 1}, {"n": 2}], [{"n": 3}]]
    monkeypatch.setattr(http, "MAX_PAGE_ROWS", 1)
    downstream.answers = list(pages)
    outcome = http.run(
        config={"url": downstream.url, "secret": SECRET}, action="export", keys=KEYS,
        idempotency_key=KEY, timeout=2, export_to=Pages(),
    )  # fmt: skip
    assert (outcome.state, outcome.detail) == (FAILED, "export page 1 of more than 1 rows")
