"""A real downstream shop for the data-map tests, on PostgreSQL, MariaDB and SQLite alike.

Five tables, no declared foreign keys (as in many MySQL schemas): customers; their orders
(``orders.customer_id``); the orders' items (``order_items.order_id``); the items' reviews
(``item_reviews.item_id``) — three hops from the customer — and newsletter sign-ups, found by
email and without any key. Two subjects: Li Lei (the one who asks) and Han Mei (whose rows
must come through byte for byte).
"""

import os
import uuid

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

from dsar.datamap import engines

LI = {"email": "li.lei@example.com", "phone": "+8613912345678", "account_id": ""}
HAN = {"email": "han.mei@example.com", "phone": "", "account_id": ""}

DDL = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(255), phone VARCHAR(20), "
    "name VARCHAR(100), status VARCHAR(20) NOT NULL, tax_no VARCHAR(40))",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, ship_to VARCHAR(200), "
    "contact_phone VARCHAR(64), total INTEGER, invoice_no VARCHAR(40))",
    "CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER, "
    "gift_message VARCHAR(200), sku VARCHAR(40))",
    "CREATE TABLE item_reviews (id INTEGER PRIMARY KEY, item_id INTEGER, "
    "review_text VARCHAR(500), reviewer_ip VARCHAR(45))",
    "CREATE TABLE newsletter_signups (email VARCHAR(255), topic VARCHAR(40))",
]
TABLES = ["customers", "orders", "order_items", "item_reviews", "newsletter_signups"]


def rows_for(orders_per_subject: int = 2) -> dict[str, list[dict]]:
    """Li Lei is customer 1 (phone stored in national form), Han Mei customer 2."""
    customers = [
        {"id": 1, "email": LI["email"], "phone": "13912345678", "name": "Li Lei",
         "status": "active", "tax_no": "TAX-LI"},
        {"id": 2, "email": HAN["email"], "phone": "13800000000", "name": "Han Mei",
         "status": "active", "tax_no": "TAX-HAN"},
    ]  # fmt: skip
    orders, items, reviews = [], [], []
    for customer in (1, 2):
        for n in range(orders_per_subject):
            order_id = customer * 1000 + n
            orders.append({"id": order_id, "customer_id": customer, "ship_to": f"Street {n}",
                           "contact_phone": f"1390000{customer}{n:03d}", "total": 10 + n,
                           "invoice_no": f"INV-{order_id}"})  # fmt: skip
            items.append({"id": order_id * 10, "order_id": order_id,
                          "gift_message": f"Happy day {n}", "sku": f"SKU-{n}"})  # fmt: skip
            reviews.append({"id": order_id * 100, "item_id": order_id * 10,
                            "review_text": f"Good {n}", "reviewer_ip": "203.0.113.7"})  # fmt: skip
    signups = [{"email": LI["email"], "topic": "deals"}, {"email": HAN["email"], "topic": "news"}]
    return {"customers": customers, "orders": orders, "order_items": items,
            "item_reviews": reviews, "newsletter_signups": signups}  # fmt: skip


SHOP_MAP = {
    "tables": {
        "customers": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False},
            "email": {"type": "varchar(255)", "identity": "email", "category": "contact",
                      "policy": "delete"},
            "phone": {"type": "varchar(20)", "identity": "phone", "category": "contact",
                      "policy": "delete"},
            "name": {"type": "varchar(100)", "category": "basic_profile", "policy": "delete"},
            "status": {"type": "varchar(20)", "nullable": False}}},
        "orders": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False},
            "customer_id": {"type": "integer"},
            "ship_to": {"type": "varchar(200)", "category": "contact", "policy": "mask",
                        "mask": "null"},
            "contact_phone": {"type": "varchar(64)", "category": "contact", "policy": "mask",
                              "mask": "hash"},
            "total": {"type": "integer"},
            "invoice_no": {"type": "varchar(40)", "category": "transaction", "policy": "retain",
                           "retention": "tax-records"}}},
        "order_items": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False}, "order_id": {"type": "integer"},
            "gift_message": {"type": "varchar(200)", "category": "communication",
                             "policy": "delete"}}},
        "item_reviews": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False}, "item_id": {"type": "integer"},
            "review_text": {"type": "varchar(500)", "category": "online_activity",
                            "policy": "delete"},
            "reviewer_ip": {"type": "varchar(45)", "category": "online_identity",
                            "policy": "delete"}}},
        "newsletter_signups": {"columns": {
            "email": {"type": "varchar(255)", "identity": "email", "category": "contact",
                      "policy": "delete"},
            "topic": {"type": "varchar(40)"}}},
    },
    "references": [
        {"from": "orders.customer_id", "to": "customers.id"},
        {"from": "order_items.order_id", "to": "orders.id"},
        {"from": "item_reviews.item_id", "to": "order_items.id"},
    ],
    "correct": {"name": "customers.name", "email": "customers.email"},
    "account": {"table": "customers", "column": "status", "closed": "closed"},
}  # fmt: skip


def _server_database(family: str):
    """Create a uniquely named database; yield its DSN; drop it afterwards."""
    name = f"dsar_dm_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if family == "postgresql":
        admin = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres:postgres@127.0.0.1:5432/{name}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield f"mysql://root:@127.0.0.1:3306/{name}"
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def server_dsn(request):
    """An empty database on the real PostgreSQL, then on the real MariaDB."""
    yield from _server_database("postgresql" if request.param == "postgresql" else "mysql")


def load(dsn: str, rows: dict[str, list[dict]]) -> None:
    """(Re)create the shop's tables in ``dsn`` and fill them."""
    engine = engines.engine_for(dsn)
    with engine.begin() as conn:
        for name in TABLES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        for statement in DDL:
            conn.exec_driver_sql(statement)
        for name, table_rows in rows.items():
            if table_rows:
                table = sa.table(name, *(sa.column(c) for c in table_rows[0]))
                conn.execute(sa.insert(table), table_rows)
    engine.dispose()


def _order(row: tuple) -> list:
    return [(value is not None, str(value)) for value in row]


def dump(dsn: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order, as the database returns it."""
    engine = engines.engine_for(dsn)
    with engine.connect() as conn:
        out = {name: sorted((tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {name}")),
                            key=_order) for name in TABLES}  # fmt: skip
    engine.dispose()
    return out


@pytest.fixture
def shop(server_dsn):
    """The shop loaded afresh into this module's database: yields its DSN."""
    load(server_dsn, rows_for())
    return server_dsn
