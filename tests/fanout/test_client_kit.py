"""The client kit (``clients/python``) against the product's own code: our http connector
calls a service written on the kit, and the kit's callbacks are taken by our callback view."""

import json
import threading
import time
import uuid

import dsar_downstream as kit
import pytest

from dsar.audit.services import Actor
from dsar.fanout.connectors import http
from dsar.fanout.connectors.base import DONE, FAILED, SubjectKeys
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF

SECRET = "kit-service-secret-0123"
SUBJECT = "li.lei@example.com"


class Orders(kit.Handler):
    """A service team's whole share of the protocol: find, export, delete the subject's rows."""

    def __init__(self, *, defer=False, refuse=""):
        self.rows = [{"email": SUBJECT, "order": n} for n in (1, 2)] + [
            {"email": "bystander@example.com", "order": 3}
        ]
        self.defer, self.refuse, self.deletions = defer, refuse, 0

    def export(self, request):
        return [r for r in self.rows if r["email"] == request.subject.email]

    def delete(self, request):
        def erase():
            if self.refuse:
                raise kit.Refuse(self.refuse)
            self.deletions += 1
            mine = [r for r in self.rows if r["email"] == request.subject.email]
            self.rows = [r for r in self.rows if r not in mine]
            return f"{len(mine)} orders deleted"

        return kit.later(erase) if self.defer else {"deleted": int(erase().split()[0])}


@pytest.fixture
def service():
    """serve(handler, secret=SECRET) -> URL of the kit's WSGI app on 127.0.0.1."""
    servers = []

    def serve(handler, secret=SECRET) -> str:
        server = kit.make_server(kit.wsgi_app(handler, secret))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def run(url: str, action: str, key: str, *, secret=SECRET):
    return http.run(config={"url": url, "secret": secret}, action=action,
                    keys=SubjectKeys(email=SUBJECT), idempotency_key=key,
                    timeout=5)  # fmt: skip


def test_our_connector_deletes_through_the_kit_once_per_key(service):
    orders = Orders()
    url, key = service(orders), str(uuid.uuid4())
    first = run(url, "delete", key)
    assert (first.state, first.data) == (DONE, {"deleted": 2, "idempotency_key": key})
    assert run(url, "delete", key) == first  # a retry: the same answer, nothing done again
    assert orders.deletions == 1 and orders.rows == [{"email": "bystander@example.com",
                                                      "order": 3}]  # fmt: skip


def test_our_connector_exports_the_subjects_rows_through_the_kit(service):
    outcome = run(service(Orders()), "export", str(uuid.uuid4()))
    assert outcome.state == DONE
    assert outcome.data["rows"] == [{"email": SUBJECT, "order": 1}, {"email": SUBJECT, "order": 2}]


def test_a_kit_service_refuses_our_request_signed_with_another_secret(service):
    orders = Orders()
    outcome = run(service(orders), "delete", str(uuid.uuid4()), secret="not-the-kits-secret")
    assert outcome.state == FAILED and outcome.detail.startswith("HTTP 401")
    assert orders.deletions == 0


def test_a_kit_services_refusal_reaches_staff_in_its_words(service):
    outcome = run(service(Orders()), "anonymise", str(uuid.uuid4()))
    assert outcome.state == FAILED
    assert outcome.detail.startswith("HTTP 422; the system answered (unverified):")
    assert "does not do 'anonymise'" in outcome.detail


@pytest.fixture
def fan_out(service, live_server, settings):
    """fan_out(handler) -> the deletion task of a request sent to a kit service, once its
    callback (over HTTP, to the live server) has finished it or 30 s have passed."""
    settings.DSAR_PUBLIC_BASE_URL = live_server.url

    def start(handler) -> FanoutTask:
        DownstreamSystem.objects.create(
            name="orders", kind="http", actions=["delete"],
            config=json.dumps({"url": service(handler), "secret": SECRET}),
        )  # fmt: skip
        request = create_request(type="deletion", email=SUBJECT)
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
        task = FanoutTask.objects.get(request=request)
        deadline = time.monotonic() + 30
        while task.status in (TaskStatus.RUNNING, TaskStatus.WAITING) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)  # waiting for the kit's callback over HTTP, not for a clock
            task.refresh_from_db()
        return task

    return start


@pytest.mark.django_db(transaction=True)
def test_a_kit_service_answers_202_and_its_signed_callback_finishes_the_task(fan_out):
    orders = Orders(defer=True)
    task = fan_out(orders)
    # The callback's detail is what staff read on the task.
    assert (task.status, task.last_error) == (TaskStatus.DONE, "2 orders deleted")
    assert orders.deletions == 1 and len(orders.rows) == 1


@pytest.mark.django_db(transaction=True)
def test_deferred_work_the_kit_service_refuses_fails_the_task_with_its_reason(fan_out):
    task = fan_out(Orders(defer=True, refuse="Open dispute on this account."))
    assert task.status == TaskStatus.FAILED
    assert "Open dispute on this account." in task.last_error
