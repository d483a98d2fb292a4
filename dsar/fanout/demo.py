"""Downstream systems for the demo (`make run`), which really run on this machine.

- ``demo-shop`` (``sql``): a SQLite database of customers and orders (``var/demo_shop.sqlite3``).
- ``demo-crm`` (``http``): a small signed-JSON service on 127.0.0.1 (``manage.py
  demo_downstream``) over its own SQLite contacts table; it answers deletions with 202 and
  reports the end of the work through our signed callback, as a real CRM might.
- ``demo-partner`` (``notify``): a partner that received the data, told by email (the file in
  ``var/mail/``) and done when someone follows its confirmation link.
- ``demo-backups`` (``backup``): deletions go to the ledger; done when the backups rotate.

Demo data only: the people below are the demo requests' subjects, and one bystander whose rows
must survive every deletion.
"""

import hmac
import json
import secrets
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import urllib3

from dsar.fanout.connectors.http import sign
from dsar.fanout.models import DownstreamSystem

PEOPLE = [  # (email, account, name, city)
    ("li.lei@example.com", "acct-1001", "李雷", "Beijing"),
    ("han.meimei@example.com", "acct-1002", "韩梅梅", "Shanghai"),
    ("zhang.wei@example.com", "acct-1003", "张伟", "Shenzhen"),
    ("chen.jing@example.com", "acct-1004", "陈静", "Hangzhou"),
    ("liu.yang@example.com", "acct-1005", "刘洋", "Chengdu"),
    ("bystander@example.com", "acct-1999", "王芳", "Wuhan"),
]
SHOP_STATEMENTS = {
    "check": "SELECT email FROM customers WHERE account = %(account_id)s AND account <> ''",
    "export": [
        "SELECT name, email, account, city, status FROM customers WHERE email = %(email)s",
        "SELECT id AS order_id, total, placed_on FROM orders WHERE email = %(email)s",
    ],
    "delete": [
        "DELETE FROM orders WHERE email = %(email)s",
        "DELETE FROM customers WHERE email = %(email)s",
    ],
    "close_account": "UPDATE customers SET status = 'closed' WHERE email = %(email)s",
    "correct": {"name": "UPDATE customers SET name = %(value)s WHERE email = %(email)s"},
}


def create_databases(var_dir: Path) -> tuple[Path, Path]:
    """The shop and CRM databases with the demo people, created once (kept across runs)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    shop, crm = var_dir / "demo_shop.sqlite3", var_dir / "demo_crm.sqlite3"
    with sqlite3.connect(shop) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS customers (email TEXT, account TEXT, name TEXT, "
            "city TEXT, status TEXT DEFAULT 'active')"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, email TEXT, "
                     "total INTEGER, placed_on TEXT)")  # fmt: skip
        if not conn.execute("SELECT count(*) FROM customers").fetchone()[0]:
            conn.executemany(
                "INSERT INTO customers (email, account, name, city) VALUES (?, ?, ?, ?)", PEOPLE
            )
            conn.executemany(
                "INSERT INTO orders (email, total, placed_on) VALUES (?, ?, ?)",
                [(p[0], 100 + 37 * i, f"2026-0{1 + i % 9}-15") for i, p in enumerate(PEOPLE)],
            )
    with sqlite3.connect(crm) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS contacts (email TEXT, account TEXT, "
                     "newsletter INTEGER)")  # fmt: skip
        conn.execute("CREATE TABLE IF NOT EXISTS handled (idempotency_key TEXT PRIMARY KEY)")
        if not conn.execute("SELECT count(*) FROM contacts").fetchone()[0]:
            conn.executemany(
                "INSERT INTO contacts VALUES (?, ?, 1)", [(p[0], p[1]) for p in PEOPLE]
            )
    return shop, crm


def register(*, var_dir: Path, crm_port: int) -> list[str]:
    """Register (or update) the four demo systems; returns their names."""
    shop, _ = create_databases(var_dir)
    crm = DownstreamSystem.objects.filter(name="demo-crm").first()
    secret = (crm.settings.get("secret") if crm else None) or secrets.token_urlsafe(24)
    systems = {
        "demo-shop": ("sql", ["check", "export", "delete", "close_account", "correct"],
                      {"dsn": f"sqlite:///{shop.resolve()}", "statements": SHOP_STATEMENTS}),
        "demo-crm": ("http", ["check", "export", "delete", "close_account"],
                     {"url": f"http://127.0.0.1:{crm_port}/", "secret": secret}),
        "demo-partner": ("notify", ["delete"],
                         {"recipient": "privacy@partner.example", "reminder_days": 3,
                          "cutoff_days": 14}),
        "demo-backups": ("backup", ["delete"],
                         {"retention_days": 1, "restores_into": ["demo-shop"]}),
    }  # fmt: skip
    for name, (kind, actions, config) in systems.items():
        DownstreamSystem.objects.update_or_create(
            name=name,
            defaults={"kind": kind, "actions": actions, "config": json.dumps(config),
                      "timeout_seconds": 5},
        )  # fmt: skip
    return list(systems)


class _Crm(BaseHTTPRequestHandler):
    secret: str = ""
    database: Path = Path()

    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        expected = sign(self.secret, self.headers.get("X-DSAR-Timestamp", ""), raw)
        if not hmac.compare_digest(expected, self.headers.get("X-DSAR-Signature", "")):
            return self._answer(401, {"error": "bad signature"})
        message = json.loads(raw)
        action, subject = message["action"], message["subject"]
        with sqlite3.connect(self.database) as conn:
            if action == "check":
                held = conn.execute(
                    "SELECT email FROM contacts WHERE account = ? AND account <> ''",
                    [subject["account_id"]],
                ).fetchall()
                return self._done(message, {"emails": [row[0] for row in held]})
            if action == "export":
                rows = conn.execute(
                    "SELECT email, account, newsletter FROM contacts WHERE email = ?",
                    [subject["email"]],
                ).fetchall()
                keys = ("email", "account", "newsletter")
                return self._done(
                    message, {"rows": [dict(zip(keys, r, strict=True)) for r in rows]}
                )
            first_time = conn.execute(
                "INSERT OR IGNORE INTO handled VALUES (?)", [message["idempotency_key"]]
            ).rowcount
            if first_time and action == "delete":
                conn.execute("DELETE FROM contacts WHERE email = ?", [subject["email"]])
            elif first_time:
                conn.execute("UPDATE contacts SET newsletter = 0 WHERE email = ?",
                             [subject["email"]])  # fmt: skip
        self._answer(202, {"accepted": True})
        threading.Thread(target=self._call_back, args=(message,), daemon=True).start()

    def _call_back(self, message: dict) -> None:
        body = json.dumps({"idempotency_key": message["idempotency_key"], "status": "done",
                           "detail": "handled by the demo CRM"}).encode()  # fmt: skip
        timestamp = str(int(time.time()))
        # "Connection: close": one callback, then the web server's thread (and its database
        # connection) is let go rather than kept for a next request that never comes.
        headers = {"Content-Type": "application/json", "X-DSAR-Timestamp": timestamp,
                   "X-DSAR-Signature": sign(self.secret, timestamp, body),
                   "Connection": "close"}  # fmt: skip
        for _ in range(3):  # the web server may still be starting
            try:
                urllib3.request("POST", message["callback_url"], body=body, headers=headers,
                                timeout=10, retries=False)  # fmt: skip
                return
            except urllib3.exceptions.HTTPError:
                time.sleep(2)

    def _done(self, message: dict, data: dict) -> None:
        """A 200 echoes the idempotency key: how we know the answer is about our request."""
        self._answer(200, {"idempotency_key": message["idempotency_key"], **data})

    def _answer(self, status: int, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # requests carry personal data: log none of them
        pass


def serve_crm(*, port: int, var_dir: Path) -> ThreadingHTTPServer:
    """The demo CRM on 127.0.0.1:``port``, with the secret registered for ``demo-crm``."""
    _, crm = create_databases(var_dir)
    system = DownstreamSystem.objects.get(name="demo-crm")
    handler = type("Crm", (_Crm,), {"secret": system.settings["secret"], "database": crm})
    return ThreadingHTTPServer(("127.0.0.1", port), handler)
