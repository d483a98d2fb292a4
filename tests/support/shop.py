"""The second PostgreSQL database: a downstream "shop" with two subjects' rows.

One database per test run (per xdist worker: its name follows the test database's), made
once; each test that asks for it starts from a freshly built schema, since tests add
columns, restore dumps and delete rows. Rebuilding the schema takes some 50 ms where
creating a database, even from a template, took about a second.
"""

import psycopg
import pytest
from django.db import connection

SCHEMA = """
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
CREATE TABLE customers (id serial PRIMARY KEY, email text, account text, name text);
CREATE TABLE orders (id serial PRIMARY KEY, email text, total int);
INSERT INTO customers (email, account, name) VALUES
    ('li.lei@example.com', 'acct-1', 'Li Lei'), ('han.mei@example.com', 'acct-2', 'Han');
INSERT INTO orders (email, total) VALUES
    ('li.lei@example.com', 10), ('li.lei@example.com', 20), ('han.mei@example.com', 30);
"""


def _server_dsn(database: str) -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{database}"


@pytest.fixture(scope="session")
def shop_database(django_db_setup) -> str:
    """The shop database of this run (made once, dropped at the end); yields its DSN."""
    name = f"{connection.settings_dict['NAME']}_shop"  # test_dsar → test_dsar_shop
    admin = _server_dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _server_dsn(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def shop_dsn(db, shop_database) -> str:
    """The shop, as every test first sees it: two customers and their three orders."""
    with psycopg.connect(shop_database) as conn:  # one transaction, committed on leaving
        conn.execute(SCHEMA)
    return shop_database


def shop_rows(dsn: str, sql: str) -> list:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()
