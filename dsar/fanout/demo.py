"""Downstream systems for the demo (`make run`), which really run on this machine.

- ``demo-shop`` (``sql``): a SQLite database of customers, orders and deliveries
  (``var/demo_shop.sqlite3``), run through a data map drafted by discovery.
- ``demo-crm`` (``http``): a small signed-JSON service on 127.0.0.1 (``manage.py
  demo_downstream``) over its own SQLite contacts table, written on the client kit
  (``clients/python``); it answers deletions with 202 and reports the end of the work
  through our signed callback, as a real CRM might.
- ``demo-partner`` (``notify``): a partner that received the data, told by email (the file in
  ``var/mail/``) and done when someone follows its confirmation link.
- ``demo-backups`` (``backup``): deletions go to the ledger; done when the backups rotate.

Demo data only: the people below are the demo requests' subjects, and one bystander whose rows
must survive every deletion.
"""

import json
import secrets
import sqlite3
from contextlib import closing
from functools import partial
from pathlib import Path

import dsar_downstream

from dsar.fanout import datamaps, registry
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


class DemoCrm(dsar_downstream.Handler):
    """The demo CRM's side of the protocol, on the client kit: what a service team writes."""

    def __init__(self, database: Path):
        self.database = database

    def check(self, request):
        with closing(sqlite3.connect(self.database)) as conn:
            held = conn.execute(
                "SELECT email FROM contacts WHERE account = ? AND account <> ''",
                [request.subject.account_id],
            ).fetchall()
        return {"emails": [row[0] for row in held]}

    def export(self, request):
        with closing(sqlite3.connect(self.database)) as conn:
            rows = conn.execute(
                "SELECT email, account, newsletter FROM contacts WHERE email = ? AND email <> ''",
                [request.subject.email],
            ).fetchall()
        return [dict(zip(("email", "account", "newsletter"), row, strict=True)) for row in rows]

    # A real CRM queues erasures: the demo answers 202 and calls back once they are done.
    def delete(self, request):
        return dsar_downstream.later(partial(self._write, _ERASE, request.subject.email))

    def close_account(self, request):
        return dsar_downstream.later(partial(self._write, _UNSUBSCRIBE, request.subject.email))

    def _write(self, statement: str, email: str) -> str:
        with closing(sqlite3.connect(self.database)) as conn, conn:
            conn.execute(statement, [email])
        return "handled by the demo CRM"


_ERASE = "DELETE FROM contacts WHERE email = ? AND email <> ''"
_UNSUBSCRIBE = "UPDATE contacts SET newsletter = 0 WHERE email = ? AND email <> ''"


def serve_crm(*, port: int, var_dir: Path):
    """The demo CRM on 127.0.0.1:``port``, with the secret registered for ``demo-crm``; it
    remembers the idempotency keys it acted on in its own database."""
    _, crm = create_databases(var_dir)
    system = DownstreamSystem.objects.get(name="demo-crm")
    app = dsar_downstream.wsgi_app(
        DemoCrm(crm), system.settings["secret"], store=dsar_downstream.SqliteStore(crm)
    )
    return dsar_downstream.make_server(app, port=port)
