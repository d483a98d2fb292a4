"""Real servers on 127.0.0.1: the kit's WSGI app under ``wsgiref`` in a thread, and a
product's callback endpoint (``http.server``) that checks signatures on its own."""

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dsar_downstream as kit
import pytest

SECRET = "service-shared-secret-1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Written out here, not taken from the kit: the tests check the kit against the rule."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def message(action="delete", **fields) -> dict:
    return {
        "action": action,
        "idempotency_key": fields.pop("idempotency_key", str(uuid.uuid4())),
        "subject": fields.pop("subject", {"email": "li.lei@example.com", "phone": "",
                                          "account_id": "acct-1"}),
        "callback_url": fields.pop("callback_url", ""),
        **fields,
    }  # fmt: skip


def signed(body: bytes, *, secret=SECRET, timestamp=None) -> dict:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": "application/json", "X-DSAR-Timestamp": stamp,
            "X-DSAR-Signature": signature(secret, stamp, body)}  # fmt: skip


def post(url: str, body: bytes, headers: dict, method="POST") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def send(url: str, data: dict, *, secret=SECRET) -> tuple[int, dict]:
    """POST ``data`` as the product does: compact JSON, signed, key in the header too."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return post(url, body, {**signed(body, secret=secret),
                            "Idempotency-Key": data["idempotency_key"]})  # fmt: skip


class Rows(kit.Handler):
    """A service over rows in memory: what a team writes, and what it was asked."""

    def __init__(self):
        self.rows = [{"email": "li.lei@example.com", "order": n} for n in range(5)] + [
            {"email": "bystander@example.com", "order": 99}
        ]
        self.calls = []
        self.lock = threading.Lock()

    def mine(self, request):
        return [r for r in self.rows if r["email"] == request.subject.email]

    def check(self, request):
        self.calls.append(("check", request.idempotency_key))
        return {"emails": sorted({r["email"] for r in self.mine(request)})}

    def export(self, request):
        self.calls.append(("export", request.cursor))
        start = int(request.cursor or 0)
        rows = self.mine(request)
        end = start + 2
        return kit.Page(rows[start:end], next=str(end) if end < len(rows) else None)

    def delete(self, request):
        with self.lock:
            self.calls.append(("delete", request.idempotency_key))
            mine = self.mine(request)
            self.rows = [r for r in self.rows if r not in mine]
        return {"deleted": len(mine)}


@pytest.fixture
def serve():
    """serve(app) -> base URL of ``app`` on a free port of 127.0.0.1."""
    servers = []

    def start(app) -> str:
        server = kit.make_server(app)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class Product:
    """The product's callback endpoint: keeps the callbacks whose signature is right."""

    def __init__(self):
        self.callbacks, self.refused = [], 0
        self.arrived = threading.Event()
        self.status = 200

    def wait(self, count=1, timeout=10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.callbacks) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)  # waiting for a thread's HTTP call, not for a clock
            self.arrived.clear()
        return self.callbacks


@pytest.fixture
def product():
    state = Product()

    class Callback(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            stamp = self.headers.get("X-DSAR-Timestamp", "")
            good = hmac.compare_digest(signature(SECRET, stamp, raw),
                                       self.headers.get("X-DSAR-Signature", ""))  # fmt: skip
            if good:
                state.callbacks.append({"path": self.path, **json.loads(raw)})
            else:
                state.refused += 1
            self.send_response(state.status if good else 401)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            state.arrived.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_port}/api/v1/callbacks/task-1/"
    yield state
    server.shutdown()
    server.server_close()
