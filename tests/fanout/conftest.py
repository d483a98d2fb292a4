"""Real downstream peers for the fan-out tests: a second PostgreSQL database (the "shop")
and a threaded HTTP server on 127.0.0.1 that verifies our signatures and answers as told."""

import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.db import connection

SECRET = "shop-shared-secret"


@pytest.fixture
def shop_dsn(db):
    """A fresh database with two subjects' rows; dropped afterwards."""
    settings = connection.settings_dict
    admin_dsn = (
        f"postgresql://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:"
        f"{settings['PORT']}/postgres"
    )
    name = f"dsar_fanout_shop_{os.getpid()}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE customers (id serial PRIMARY KEY, email text, account text, name text)"
        )
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, email text, total int)")
        conn.execute(
            "INSERT INTO customers (email, account, name) VALUES "
            "('li.lei@example.com', 'acct-1', 'Li Lei'), ('han.mei@example.com', 'acct-2', 'Han')"
        )
        conn.execute(
            "INSERT INTO orders (email, total) VALUES ('li.lei@example.com', 10), "
            "('li.lei@example.com', 20), ('han.mei@example.com', 30)"
        )
    yield dsn
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shop_rows(dsn: str, sql: str) -> list:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


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

    def next_answer(self):
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def downstream():
    state = Downstream()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers.get("X-DSAR-Timestamp", "")
            expected = hmac.new(
                SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-DSAR-Signature", "")):
                state.bad_signatures += 1
                self._answer(401, {})
                return
            body = json.loads(raw)
            state.received.append(body)
            if state.block is not None:
                state.block.wait(5)
            if state.delay:
                time.sleep(
                    state.delay
                )  # the peer is slow; this is the server's work, not a test wait
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/dsar"
    yield state
    if state.block is not None:
        state.block.set()
    server.shutdown()
