"""The conformance check against real services on 127.0.0.1: the demo CRM passes; services
that sign wrongly, omit a field, answer 200 without acting, never call back or page an
export wrongly fail with the reason. Callbacks come to the product over real HTTP (Django's
live server), as they would in production."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests as http_client
from django.core.management import call_command
from django.core.management.base import CommandError

from dsar.audit.models import AuditEvent
from dsar.fanout import conformance, demo
from dsar.fanout.connectors.http import sign
from dsar.fanout.models import DownstreamSystem
from tests.support.servers import free_port
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 2  # seconds a run waits for a callback here


@pytest.fixture(autouse=True)
def public_base_url(settings, live_server):
    """Callbacks reach this product where it really answers: the live server."""
    settings.DSAR_PUBLIC_BASE_URL = live_server.url


class Service:
    """A downstream service that speaks the protocol unless told otherwise: verifies our
    signature and timestamp, answers check and export (in two pages) at once, accepts the
    rest (202) and calls back, signed. ``answer[action]`` replaces an answer."""

    def __init__(self):
        self.verify = True
        self.callback_secret = SECRET
        self.call_back = True
        self.answer = {}
        self.received = []

    def respond(self, body: dict) -> tuple[int, dict]:
        action, key = body["action"], body["idempotency_key"]
        if action in self.answer:
            return self.answer[action](body)
        if action == "check":
            return 200, {"idempotency_key": key, "emails": [], "obligations": []}
        if action == "export" and "cursor" not in body:
            return 200, {"idempotency_key": key, "rows": [], "next": "second-page"}
        if action == "export":
            return 200, {"idempotency_key": key, "rows": []}
        if self.call_back:
            threading.Thread(target=self.send_callback, args=(body,), daemon=True).start()
        return 202, {}

    def send_callback(self, body: dict) -> None:
        raw = json.dumps({"idempotency_key": body["idempotency_key"], "status": "done"}).encode()
        stamp = str(int(time.time()))
        http_client.post(body["callback_url"], data=raw, timeout=5, headers={
            "Content-Type": "application/json", "X-DSAR-Timestamp": stamp,
            "X-DSAR-Signature": sign(self.callback_secret, stamp, raw),
        })  # fmt: skip


@pytest.fixture
def service():
    state = Service()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers.get("X-DSAR-Timestamp", "")
            good = sign(SECRET, stamp, raw) == self.headers.get("X-DSAR-Signature")
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
            if state.verify and not (good and fresh):
                return self._send(401, {"error": "bad signature"})
            body = json.loads(raw)
            state.received.append(body)
            self._send(*state.respond(body))

        def _send(self, status, data):
            out = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/dsar"
    yield state
    server.shutdown()


def register(url, actions=("check", "export", "delete"), **extra) -> DownstreamSystem:
    return DownstreamSystem.objects.create(
        name="crm", kind="http", actions=list(actions), timeout_seconds=2, enabled=False,
        config=json.dumps({"url": url, "secret": SECRET, **extra}),
    )  # fmt: skip


def test_a_service_that_speaks_the_protocol_passes_and_is_told_it_is_a_test(service):
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == []
    assert report.passes == [
        "check: answered 200 with our idempotency key, as the protocol says",
        "export: answered 200 in 2 pages with our idempotency key, as the protocol says",
        "refuses a request signed with a wrong secret (HTTP 401)",
        "refuses a request signed 15 minutes ago (HTTP 401)",
        "delete: answered 202, then called back, signed",
    ]
    # Every request carried the synthetic subject, marked as a test; the second export page
    # asked with the cursor, under the same key.
    assert {b["subject"]["email"].rsplit("@", 1)[1] for b in service.received} == {
        "example.invalid"
    }
    assert all(b["test"] is True for b in service.received)
    exports = [b for b in service.received if b["action"] == "export"]
    assert [b.get("cursor") for b in exports] == [None, "second-page"]
    assert exports[0]["idempotency_key"] == exports[1]["idempotency_key"]


def test_the_demo_crm_passes_and_the_command_enables_it(tmp_path, capsys):
    port = free_port()
    system = DownstreamSystem.objects.create(
        name="demo-crm", kind="http", actions=["check", "export", "delete", "close_account"],
        config=json.dumps({"url": f"http://127.0.0.1:{port}/", "secret": "demo-crm-shared-secret"}),
        timeout_seconds=2, enabled=False,
    )  # fmt: skip
    server = demo.serve_crm(port=port, var_dir=tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        call_command("check_downstream", "demo-crm", "--enable", "--wait", str(WAIT))
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr().out
    assert "demo-crm conforms to the downstream protocol v1; it is enabled." in out
    assert "close_account: answered 202, then called back, signed" in out
    system.refresh_from_db()
    assert system.enabled
    event = AuditEvent.objects.get(action="fanout.conformance_checked")
    assert (event.payload["passed"], event.payload["enabled"]) == (True, True)


def test_a_service_that_signs_its_callbacks_wrongly_fails(service):
    service.callback_secret = "a-secret-that-is-not-ours"
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [
        "delete: the callback's signature does not verify with the system's secret"
    ]


def test_a_service_that_does_not_check_our_signature_fails(service):
    service.verify = False
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [
        "accepts a request signed with a wrong secret (HTTP 200); refuse it with 401, or "
        "anyone who can reach the service can send it requests",
        "accepts a request signed 15 minutes ago (HTTP 200); refuse it with 401, or anyone "
        "who can reach the service can send it requests",
    ]


def test_a_service_that_omits_a_field_fails_naming_it(service):
    service.answer["export"] = lambda body: (200, {"idempotency_key": body["idempotency_key"]})
    service.answer["check"] = lambda body: (
        200, {"idempotency_key": body["idempotency_key"], "obligations": [{"note": "x"}]},
    )  # fmt: skip
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [
        'check: the answer: obligations[0]: "kind" is missing',
        "check: reports holding the synthetic subject, whom no one has: it answers without "
        "looking the subject up",
        'export: the answer: "rows" is missing',
    ]


def test_a_service_that_answers_200_without_acting_fails(service):
    # A stub, a default page or a gateway: 200 to anything, about nothing in particular.
    service.answer = dict.fromkeys(("check", "export", "delete"), lambda body: (200, {"ok": True}))
    report = conformance.check(register(service.url), wait=WAIT)
    assert (
        report.failures
        == [
            f"{action}: HTTP 200 without our idempotency key: not taken as done"
            for action in ("check", "export", "delete")
        ]
        and 'export: the answer: "rows" is missing' not in report.failures
    )


def test_a_service_that_echoes_the_subject_back_without_looking_fails(service):
    service.answer["check"] = lambda body: (
        200, {"idempotency_key": body["idempotency_key"], "emails": [body["subject"]["email"]]},
    )  # fmt: skip
    service.answer["export"] = lambda body: (
        200, {"idempotency_key": body["idempotency_key"], "rows": [body["subject"]]},
    )  # fmt: skip
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [
        "check: reports holding the synthetic subject, whom no one has: it answers without "
        "looking the subject up",
        "export: returns 1 rows for the synthetic subject, whom no one has",
    ]


def test_a_service_that_answers_an_export_later_fails(service):
    service.answer["export"] = lambda body: (202, {})
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [
        "export: answered 202, but export must answer 200 with its data: a callback carries none"
    ]


def test_a_service_that_never_calls_back_fails(service):
    service.call_back = False
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [
        "delete: answered 202, but no callback came to the callback_url within 2 seconds"
    ]


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ({"rows": [], "next": "first-page"}, "export page 2 repeats the cursor of an earlier page"),
        ({"rows": "none"}, 'export page 2: "rows" is not a list'),
    ],
)
def test_a_service_that_pages_an_export_wrongly_fails(service, page, reason):
    def export(body):
        answer = page if "cursor" in body else {"rows": [], "next": "first-page"}
        return 200, {"idempotency_key": body["idempotency_key"], **answer}

    service.answer["export"] = export
    report = conformance.check(register(service.url), wait=WAIT)
    assert report.failures == [reason]


def test_the_command_exits_non_zero_and_leaves_a_failing_system_disabled(service, capsys):
    service.call_back = False
    system = register(service.url)
    with pytest.raises(CommandError, match="1 problems. It stays disabled."):
        call_command("check_downstream", "crm", "--enable", "--wait", "1")
    assert "FAIL delete: answered 202, but no callback came" in capsys.readouterr().out
    system.refresh_from_db()
    assert not system.enabled


def test_a_system_registered_in_the_admin_starts_disabled_until_the_check_passes(
    service, admin_client
):
    form = {"name": "crm", "kind": "http", "actions": '["check", "delete"]', "timeout_seconds": 2,
            "max_attempts": 5, "enabled": "on", "categories": "[]",
            "config": json.dumps({"url": service.url, "secret": SECRET})}  # fmt: skip
    assert admin_client.post("/admin/fanout/downstreamsystem/add/", form).status_code == 302
    system = DownstreamSystem.objects.get()
    assert not system.enabled
    service.call_back = False
    changelist = "/admin/fanout/downstreamsystem/"
    action = {"action": "check_conformance", "_selected_action": [system.pk]}
    page = admin_client.post(changelist, action, follow=True).content.decode()
    assert "does not conform to the protocol" in page and "no callback came" in page
    system.refresh_from_db()
    assert not system.enabled
    service.call_back = True
    page = admin_client.post(changelist, action, follow=True).content.decode()
    assert "rm: conforms to the protocol; enabled." in page  # the admin capitalises it
    system.refresh_from_db()
    assert system.enabled


def test_only_http_systems_are_checked():
    DownstreamSystem.objects.create(
        name="partner", kind="notify", actions=["delete"],
        config=json.dumps({"recipient": "privacy@partner.example"}),
    )  # fmt: skip
    with pytest.raises(CommandError, match="Only http systems speak the protocol."):
        call_command("check_downstream", "partner")


def test_the_conformance_callback_refuses_what_the_real_one_refuses(client):
    assert client.post(
        "/api/v1/callbacks/conformance/7d1a5a43-1f8e-4b8e-9e55-0d8b3b0b8e11/", "{}",
        content_type="application/json",
    ).status_code == 404  # fmt: skip
