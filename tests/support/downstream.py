"""A threaded HTTP downstream peer on 127.0.0.1: it checks our signatures and answers as told."""

import hmac
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.signing import SECRET, signature


class Downstream:
    """What the HTTP peer answers (a list consumed in order, then the last one repeats) and
    what it received (verified bodies)."""

    def __init__(self):
        self.answers = [(200, {"deleted": 1})]
        self.received = []
        self.bad_signatures = 0
        self.acted_on = []  # idempotency keys acted on (once each)
        self.lock = threading.Lock()
        self.block = None  # an Event that holds answers (for timeouts)
        self.delay = 0.0  # seconds each answer takes (a slow peer)
        self.before_answer = None  # called with the verified body before the peer answers
        self.echo_key = True  # a 200 carries our idempotency key back, as the protocol asks
        self.url = ""

    def next_answer(self):
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _handler(state: Downstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = signature(raw, self.headers.get("X-DSAR-Timestamp", ""), SECRET)
            if not hmac.compare_digest(expected, self.headers.get("X-DSAR-Signature", "")):
                state.bad_signatures += 1
                self._answer(401, {})
                return
            body = json.loads(raw)
            state.received.append(body)
            if state.block is not None:
                state.block.wait(5)
            if state.delay:
                time.sleep(state.delay)  # a slow peer: the server's work, not a test wait
            if state.before_answer is not None:
                state.before_answer(body)
            status, answer = state.next_answer()
            if status == 200 and state.echo_key:
                answer = {"idempotency_key": body["idempotency_key"], **answer}
            if status in (200, 202):
                with state.lock:
                    if body["idempotency_key"] not in state.acted_on:
                        state.acted_on.append(body["idempotency_key"])
            self._answer(status, answer)

        def _answer(self, status, answer):
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def peer():
    """A peer of its own (a test needing two systems opens a second one with this)."""
    state = Downstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/dsar"
    try:
        yield state
    finally:
        if state.block is not None:
            state.block.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def downstream():
    """The peer for this test: set ``answers``, read ``received``; its address is ``url``."""
    with peer() as state:
        yield state
