"""Downstream systems for the demo (`make run`), which really run on this machine.

- ``demo-shop`` (``sql``): a SQLite database of customers, orders and deliveries
  (``var/demo_shop.sqlite3``), run through a data map drafted by discovery.
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

from dsar.fanout import datamaps, registry
from dsar.fanout.connectors.http import sign
from dsar.fanout.models import Discovery, DownstreamSystem, ProposalDecision

PEOPLE = [  # (email, account, name, city)
    ("li.lei@example.com", "acct-1001", "李雷", "Beijing"),
    ("han.meimei@example.com", "acct-1002", "韩梅梅", "Shanghai"),
    ("zhang.wei@example.com", "acct-1003", "张伟", "Shenzhen"),
    ("chen.jing@example.com", "acct-1004", "陈静", "Hangzhou"),
    ("liu.yang@example.com", "acct-1005", "刘洋", "Chengdu"),
    ("bystander@example.com", "acct-1999", "王芳", "Wuhan"),
]
# The demo shop runs on a data map: discovery reads its schema when the demo is seeded, every
# proposal is accepted (as an admin would in the admin or over the API), and the demo adds
# what discovery cannot know: where deliveries point (no foreign key is declared), which
# column closes the account and which field a correction may change.
SHOP_REFERENCE = {"from": "deliveries.order_id", "to": "orders.id"}
SHOP_ACCOUNT = {"table": "customers", "column": "status", "closed": "closed"}
SHOP_CORRECT = {"name": "customers.name"}


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
        # SQLite keeps no column comments: the Chinese is in the column names here (the
        # PostgreSQL and MariaDB tests read Chinese comments).
        conn.execute("CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, order_id "
                     "INTEGER, 收件人手机号 TEXT, 收件地址 TEXT, courier TEXT)")  # fmt: skip
        if not conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]:
            conn.executemany(
                "INSERT INTO deliveries (order_id, 收件人手机号, 收件地址, courier) "
                "VALUES (?, ?, ?, ?)",
                [(i + 1, f"1391234{5670 + i:04d}", f"{p[3]}市人民路{10 + i}号", "SF")
                 for i, p in enumerate(PEOPLE)],
            )  # fmt: skip
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
                      {"dsn": f"sqlite:///{shop.resolve()}"}),
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
    map_shop(DownstreamSystem.objects.get(name="demo-shop"))
    return list(systems)


def map_shop(system: DownstreamSystem) -> Discovery:
    """Discover the demo shop and put the accepted draft to work as its map (version 1, or
    the next one when the schema changed)."""
    found = datamaps.run_discovery(user=None, system=system)
    for proposal in found.proposals:
        proposal["decision"] = ProposalDecision.ACCEPTED
    for reference in found.references:
        reference["decision"] = ProposalDecision.ACCEPTED
    if not any(r["from"] == SHOP_REFERENCE["from"] for r in found.references):
        found.references.append({**SHOP_REFERENCE, "declared": False, "added": True,
                                 "decision": ProposalDecision.ACCEPTED})  # fmt: skip
    found.save(update_fields=["proposals", "references"])
    draft = datamaps.draft_from(found, None)
    draft.update(account=SHOP_ACCOUNT, correct=SHOP_CORRECT)
    read = found.schema["tables"]["customers"]["columns"]["status"]
    draft["tables"]["customers"]["columns"].setdefault("status", {"type": read["type"]})
    config = {**system.settings, "map": draft}
    registry.validate({"kind": system.kind, "actions": system.actions, "config": config})
    system.config = json.dumps(config)
    system.save(update_fields=["config"])
    registry.record_map_version(system=system, config=config, proposed_by=None, approved_by=None)
    return found


def shop_map_summary() -> list[str]:
    """What the demo shop's running map says, one line per table (for the seed's output)."""
    system = DownstreamSystem.objects.get(name="demo-shop")
    version = system.map_versions.order_by("-number").first()
    lines = [f"Demo shop data map v{version.number} (discovered, accepted):"]
    for table, spec in sorted(version.document["tables"].items()):
        personal = [f"{name} ({c['category']})" for name, c in spec["columns"].items()
                    if c.get("category")]  # fmt: skip
        lines.append(f"  {table}: {', '.join(personal) or 'keys only'}")
    lines += [f"  reference {r['from']} -> {r['to']}" for r in version.document["references"]]
    return lines


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
