"""Data-map erasure benchmark (issue 17): one subject holding 100,000 rows across 10 tables.

A throwaway shop with no declared foreign keys (indexes on the reference columns, as a real
schema has them): customers found by email; addresses, support tickets, page views (no key)
and orders one hop away; order items, payments and shipments two hops; item reviews and
shipment events three hops. The subject's rows are interleaved with as many rows of 100
other customers, which must come through. Orders are masked (the invoice number is retained),
so the UPDATE path is measured too; every other table deletes.

Two runs, each on a freshly loaded copy (loading is not timed):

(a) the generated erasure, ``Queries.erase`` in chunks of BENCH_DATAMAP_CHUNK rows, one short
    transaction per chunk (as a deletion task runs it);
(b) the same deletes written by hand: one statement per table, children first, with
    subqueries, all in one transaction.

Printed: rows deleted and masked, the wall time of each run, the longest single statement of
each (``Report.longest_ms`` for (a), each hand statement timed for (b)), the number of
statements and the ratios (a)/(b). After each run the subject must have nothing left and
the other customers' rows must be unchanged; otherwise the script exits non-zero.

    make bench
    BENCH_DATAMAP_SERVER=mariadb .venv/bin/python bench/datamap.py
    BENCH_DATAMAP_ROWS=20000 BENCH_DATAMAP_CHUNK=500 .venv/bin/python bench/datamap.py
"""

import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
SERVER = os.environ.get("BENCH_DATAMAP_SERVER", "postgresql")  # or mariadb
ROWS = int(os.environ.get("BENCH_DATAMAP_ROWS", "100000"))  # the subject's rows, all tables
CHUNK = int(os.environ.get("BENCH_DATAMAP_CHUNK", "1000"))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()  # the keyed hash of masks reads the settings

import sqlalchemy as sa  # noqa: E402

from dsar.datamap import document, engines  # noqa: E402
from dsar.datamap.queries import Queries  # noqa: E402

SUBJECT = "subject@example.com"
OTHERS = 100  # other customers, ids 2..101
MASK = "***"  # orders.contact_phone's mask value
ADMIN = {
    "postgresql": "postgresql://postgres:postgres@127.0.0.1:5432/{}",
    "mariadb": "mysql://root:@127.0.0.1:3306/{}",
}


@dataclass
class Spec:
    """One table: the table its rows belong to (through ``ref``), how many rows the subject
    has in it at 100,000 in all, and its personal columns: (name, SQL type, value made from
    the row number ``n``, category)."""

    name: str
    parent: str
    ref: str
    rows: int
    columns: list[tuple[str, str, str, str]]
    keyed: bool = True
    masks: dict = field(default_factory=dict)  # column → mask of the map


def text(prefix: str) -> str:
    return f"CONCAT('{prefix}', n)"


TABLES = [
    Spec("addresses", "customers", "customer_id", 99, [
        ("receiver", "VARCHAR(100)", text("Receiver "), "basic_profile"),
        ("line", "VARCHAR(200)", text("Jianshe Road "), "contact")]),
    Spec("support_tickets", "customers", "customer_id", 900, [
        ("body", "TEXT", text("Please call me back about ticket "), "communication")]),
    Spec("page_views", "customers", "customer_id", 9_000, [
        ("url", "VARCHAR(200)", text("/products/"), "online_activity"),
        ("ip", "VARCHAR(45)", "'203.0.113.7'", "online_identity")], keyed=False),
    Spec("orders", "customers", "customer_id", 10_000, [
        ("ship_to", "VARCHAR(200)", text("Street "), "contact"),
        ("contact_phone", "VARCHAR(64)", text("1390000"), "contact"),
        ("invoice_no", "VARCHAR(40)", text("INV-"), "transaction")],
        masks={"ship_to": "null", "contact_phone": {"value": MASK}}),
    Spec("order_items", "orders", "order_id", 30_000, [
        ("gift_message", "VARCHAR(200)", text("Happy birthday "), "communication")]),
    Spec("payments", "orders", "order_id", 10_000, [
        ("card_holder", "VARCHAR(100)", text("Holder "), "financial"),
        ("card_last4", "VARCHAR(4)", "'4242'", "financial")]),
    Spec("shipments", "orders", "order_id", 10_000, [
        ("receiver_phone", "VARCHAR(20)", text("1380000"), "contact"),
        ("address", "VARCHAR(200)", text("Lane "), "contact")]),
    Spec("item_reviews", "order_items", "item_id", 10_000, [
        ("review_text", "VARCHAR(500)", text("Good product, review "), "online_activity"),
        ("reviewer_ip", "VARCHAR(45)", "'198.51.100.9'", "online_identity")]),
    Spec("shipment_events", "shipments", "shipment_id", 20_000, [
        ("location", "VARCHAR(100)", text("Depot "), "location")]),
]  # fmt: skip
for spec in TABLES:  # scaled to BENCH_DATAMAP_ROWS (the customer row makes up the 100,000th)
    spec.rows = max(1, round(spec.rows * ROWS / 100_000))
BY_NAME = {spec.name: spec for spec in TABLES}
NAMES = ["customers", *BY_NAME]


def datamap_document() -> dict:
    tables = {
        "customers": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False},
            "email": {"type": "varchar(255)", "identity": "email", "category": "contact",
                      "policy": "delete"},
            "name": {"type": "varchar(100)", "category": "basic_profile", "policy": "delete"},
            "phone": {"type": "varchar(20)", "category": "contact", "policy": "delete"}}},
    }  # fmt: skip
    for spec in TABLES:
        columns = {spec.ref: {"type": "integer"}}
        if spec.keyed:
            columns = {"id": {"type": "integer", "nullable": False}, **columns}
        for name, type_, _value, category in spec.columns:
            column = {"type": type_.lower(), "category": category, "policy": "delete"}
            if spec.masks:  # a masked table: the rest of its personal columns are retained
                column["policy"] = "mask" if name in spec.masks else "retain"
                column.update(
                    {"mask": spec.masks[name]} if name in spec.masks else {"retention": "tax"}
                )
            columns[name] = column
        tables[spec.name] = {"key": ["id"] if spec.keyed else [], "columns": columns}
    references = [{"from": f"{spec.name}.{spec.ref}", "to": f"{spec.parent}.id"} for spec in TABLES]
    return {"tables": tables, "references": references}


# --- the database ------------------------------------------------------------------------


def admin_engine() -> sa.Engine:
    url = engines.url_for(ADMIN[SERVER].format("postgres" if SERVER == "postgresql" else ""))
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def quoted(name: str) -> str:
    return f'"{name}"' if SERVER == "postgresql" else f"`{name}`"


def create_database(name: str) -> None:
    charset = " CHARACTER SET utf8mb4" if SERVER == "mariadb" else ""
    with admin_engine().connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quoted(name)}{charset}"))


def drop_database(name: str) -> None:
    force = " WITH (FORCE)" if SERVER == "postgresql" else ""
    with admin_engine().connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted(name)}{force}"))


def numbers(count: int) -> str:
    """A row source of ``n`` = 0 … count-1."""
    if SERVER == "postgresql":
        return f"generate_series(0, {count - 1}) AS s(n)"
    return f"(SELECT seq AS n FROM seq_0_to_{count - 1}) AS s"  # MariaDB's SEQUENCE engine


def half() -> str:
    return "n / 2" if SERVER == "postgresql" else "n DIV 2"


def parent_id(spec: Spec) -> str:
    """Row ``n`` is the subject's when n is even (its id, n + 1, odd), another customer's when
    odd; it points at a parent row of the same owner."""
    if spec.parent == "customers":
        return f"CASE WHEN n % 2 = 0 THEN 1 ELSE 2 + ({half()}) % {OTHERS} END"
    parents = BY_NAME[spec.parent].rows
    return f"2 * (({half()}) % {parents}) + 1 + n % 2"


def load(engine: sa.Engine) -> None:
    """Drop and recreate the ten tables and fill them: the subject's rows and as many again
    of the other customers', interleaved."""
    with engines.transaction(engine) as conn:
        for name in NAMES:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        conn.execute(sa.text(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, "
            "name VARCHAR(100), phone VARCHAR(20), status VARCHAR(20) NOT NULL)"))  # fmt: skip
        conn.execute(sa.text("CREATE UNIQUE INDEX customers_email ON customers (email)"))
        conn.execute(sa.text(
            "INSERT INTO customers (id, email, name, phone, status) "
            f"SELECT n + 1, CASE WHEN n = 0 THEN '{SUBJECT}' "
            "ELSE CONCAT('c', n + 1, '@example.com') END, "
            f"CONCAT('Customer ', n), CONCAT('1390000', n), 'active' FROM {numbers(1 + OTHERS)}"
        ))  # fmt: skip
        for spec in TABLES:
            key = ["id INTEGER PRIMARY KEY"] if spec.keyed else []
            columns = [*key, f"{spec.ref} INTEGER", *(f"{c} {t}" for c, t, _, _ in spec.columns)]
            conn.execute(sa.text(f"CREATE TABLE {spec.name} ({', '.join(columns)})"))
            conn.execute(
                sa.text(f"CREATE INDEX {spec.name}_{spec.ref} ON {spec.name} ({spec.ref})")
            )
            names = [*(["id"] if spec.keyed else []), spec.ref, *(c for c, _, _, _ in spec.columns)]
            values = [*(["n + 1"] if spec.keyed else []), parent_id(spec)]
            values += [v for _, _, v, _ in spec.columns]
            conn.execute(sa.text(
                f"INSERT INTO {spec.name} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} FROM {numbers(2 * spec.rows)}"))  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if SERVER == "postgresql":
            conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            conn.execute(sa.text(f"ANALYZE TABLE {', '.join(NAMES)}")).all()


def owner(name: str) -> str:
    """The condition true of the subject's rows in ``name`` (from the layout, not the map)."""
    if name == "customers":
        return "id = 1"
    return "customer_id = 1" if not BY_NAME[name].keyed else "id % 2 = 1"


def census(engine: sa.Engine) -> dict[str, int]:
    """Per table, the subject's rows and the others' rows; for orders also the subject's
    and the others' unmasked rows."""
    unmasked = f"(ship_to IS NOT NULL OR contact_phone IS NULL OR contact_phone <> '{MASK}')"
    counts = {}
    with engines.transaction(engine, read_only=True) as conn:
        for name in NAMES:
            subject, other = conn.execute(sa.text(
                f"SELECT SUM(CASE WHEN {owner(name)} THEN 1 ELSE 0 END), "
                f"SUM(CASE WHEN {owner(name)} THEN 0 ELSE 1 END) FROM {name}")).one()  # fmt: skip
            counts[f"{name} subject"], counts[f"{name} others"] = int(subject or 0), int(other)
        for who, condition in (("subject", owner("orders")), ("others", "id % 2 = 0")):
            query = f"SELECT COUNT(*) FROM orders WHERE {condition} AND {unmasked}"
            counts[f"orders {who} unmasked"] = conn.execute(sa.text(query)).scalar_one()
    return counts


def check(label: str, before: dict, after: dict) -> list[str]:
    """What is wrong after a run: a subject's row left (unmasked, for orders), or a change in
    the others' rows."""
    expected = dict(before)
    for name in NAMES:
        if name != "orders":
            expected[f"{name} subject"] = 0
    expected["orders subject unmasked"] = 0  # the rows stay (the invoice number is retained)
    return [
        f"{label}: {key} is {after[key]}, expected {value}"
        for key, value in expected.items()
        if after[key] != value
    ]


# --- the runs ----------------------------------------------------------------------------


class Slowest:
    """The slowest statement on an engine, from the cursor events (to name it)."""

    def __init__(self, engine: sa.Engine):
        self.ms, self.statement = 0.0, ""
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        ms = (time.perf_counter() - conn.info.pop("bench_started")) * 1000
        if ms > self.ms:
            self.ms, self.statement = ms, " ".join(statement.split())

    def reset(self):
        self.ms, self.statement = 0.0, ""

    def named(self) -> str:
        words = self.statement
        return words if len(words) <= 110 else words[:107] + "…"


def generated(engine: sa.Engine, datamap) -> tuple[float, object, int]:
    queries = Queries(datamap, {"email": SUBJECT}, dialect=engine.dialect.name)
    transactions = 0

    started = time.perf_counter()
    with engines.one_connection(engine) as begin_on_one:  # as the sql connector runs it

        def begin():
            nonlocal transactions
            transactions += 1
            return begin_on_one()

        report = queries.erase(begin, chunk=CHUNK)
    return time.perf_counter() - started, report, transactions


SUBJECTS_ORDERS = (
    "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE email = :email)"
)
BY_HAND = [  # children first; each one statement, the subject found through subqueries
    "DELETE FROM shipment_events WHERE shipment_id IN "
    f"(SELECT id FROM shipments WHERE order_id IN ({SUBJECTS_ORDERS}))",
    "DELETE FROM item_reviews WHERE item_id IN "
    f"(SELECT id FROM order_items WHERE order_id IN ({SUBJECTS_ORDERS}))",
    f"DELETE FROM order_items WHERE order_id IN ({SUBJECTS_ORDERS})",
    f"DELETE FROM payments WHERE order_id IN ({SUBJECTS_ORDERS})",
    f"DELETE FROM shipments WHERE order_id IN ({SUBJECTS_ORDERS})",
    f"UPDATE orders SET ship_to = NULL, contact_phone = '{MASK}' WHERE customer_id IN "
    "(SELECT id FROM customers WHERE email = :email)",
    *(
        f"DELETE FROM {name} WHERE customer_id IN (SELECT id FROM customers WHERE email = :email)"
        for name in ("addresses", "support_tickets", "page_views")
    ),
    "DELETE FROM customers WHERE email = :email",
]


def by_hand(engine: sa.Engine) -> tuple[float, float, int, int]:
    """The hand-written statements in one transaction: total seconds, longest statement in
    ms, rows deleted, rows masked."""
    deleted = masked = 0
    longest = 0.0
    started = time.perf_counter()
    with engines.transaction(engine) as conn:
        for statement in BY_HAND:
            began = time.perf_counter()
            count = conn.execute(sa.text(statement), {"email": SUBJECT}).rowcount
            longest = max(longest, (time.perf_counter() - began) * 1000)
            if statement.startswith("UPDATE"):
                masked += count
            else:
                deleted += count
    return time.perf_counter() - started, longest, deleted, masked


def main():
    datamap = document.parse(datamap_document())
    name = f"dsar_bench_datamap_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    create_database(name)
    engine = engines.engine_for(ADMIN[SERVER].format(name))
    failures = []
    try:
        loaded = time.perf_counter()
        load(engine)
        load_s = time.perf_counter() - loaded
        before = census(engine)
        subject = sum(v for k, v in before.items() if k.endswith(" subject"))
        other = sum(v for k, v in before.items() if k.endswith(" others"))
        slowest = Slowest(engine)

        slowest.reset()
        a_s, report, transactions = generated(engine, datamap)
        a_slowest = slowest.named()
        failures += check("generated", before, census(engine))

        load(engine)
        if census(engine) != before:
            failures.append("the reload differs from the first load")
        slowest.reset()
        b_s, b_longest, b_deleted, b_masked = by_hand(engine)
        b_slowest = slowest.named()
        failures += check("by hand", before, census(engine))
    finally:
        engine.dispose()
        drop_database(name)

    masked_rows = before["orders subject"]
    expect_deleted = subject - masked_rows
    for label, deleted, masked in (
        ("generated", report.deleted, report.masked),
        ("by hand", b_deleted, b_masked),
    ):
        if (deleted, masked) != (expect_deleted, masked_rows):
            failures.append(f"{label}: {deleted} deleted, {masked} masked, expected "
                            f"{expect_deleted} and {masked_rows}")  # fmt: skip
    print(f"{SERVER}: {len(NAMES)} tables, the subject's rows {subject:,} (1 customer), the other "
          f"{OTHERS} customers' rows {other:,}; load {load_s:.1f} s (not timed below)")  # fmt: skip
    print(f"deleted {report.deleted:,}, masked {report.masked:,} (orders: invoice retained)")
    print(f"(a) generated, chunk {CHUNK}: {a_s:.2f} s, {report.statements} statements in "
          f"{transactions} transactions, longest statement {report.longest_ms:.1f} ms, "
          f"longest DELETE/UPDATE {report.longest_write_ms:.1f} ms")  # fmt: skip
    print(f"    longest: {a_slowest}")
    print(f"(b) by hand, one transaction: {b_s:.2f} s, {len(BY_HAND)} statements, longest "
          f"statement {b_longest:.1f} ms")  # fmt: skip
    print(f"    longest: {b_slowest}")
    print(f"ratio (a)/(b): total time {a_s / b_s:.2f}, longest statement "
          f"{report.longest_ms / b_longest:.3f}, longest write "
          f"{report.longest_write_ms / b_longest:.3f}")  # fmt: skip
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("checked: nothing of the subject left (orders masked), the others' rows unchanged")


if __name__ == "__main__":
    main()
