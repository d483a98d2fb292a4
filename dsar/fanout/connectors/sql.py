"""``sql``: parameterised statements per action against a database DSN.

Configuration: ``{"dsn": "postgres://…", "statements": {"delete": ["DELETE … WHERE email =
%(email)s", …]}}``. The subject's keys are bound as parameters by the driver, never formatted
into the SQL. All statements of an action run in one transaction. PostgreSQL DSNs go through
psycopg; ``sqlite:///path`` (the demo's shop, which needs no server) through ``sqlite3``, with
the same ``%(name)s`` placeholders.
"""

import re
import sqlite3
from contextlib import contextmanager

import psycopg

from dsar.fanout.connectors import DONE, FAILED, RETRY, Outcome, SubjectKeys


def run(
    *,
    config: dict,
    action: str,
    keys: SubjectKeys,
    idempotency_key: str,
    timeout: int,
    changes: list[dict] | None = None,
):
    statements = config.get("statements", {}).get(action)
    if action == "correct":
        return _correct(config, statements or {}, keys, idempotency_key, timeout, changes or [])
    if not statements:
        return Outcome(FAILED, f"No statements configured for {action}.")
    if isinstance(statements, str):
        statements = [statements]
    params = {**keys.as_params(), "idempotency_key": idempotency_key}
    try:
        with _database(config["dsn"], timeout) as execute:
            affected, rows = 0, []
            for statement in statements:
                cursor = execute(statement, params)
                if cursor.description:  # a SELECT (export, check): return its rows
                    names = [column[0] for column in cursor.description]
                    rows += [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                else:
                    affected += max(cursor.rowcount, 0)
    except UNAVAILABLE as exc:
        return Outcome(RETRY, f"database unavailable: {type(exc).__name__}")
    except BROKEN as exc:
        return Outcome(FAILED, f"statement failed: {type(exc).__name__}")
    return Outcome(DONE, data={"affected": affected, "rows": rows})


UNAVAILABLE = (psycopg.OperationalError, sqlite3.OperationalError)  # retried
BROKEN = (psycopg.Error, sqlite3.Error)  # a statement the database refuses: fails the task
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@contextmanager
def _database(dsn: str, timeout: int):
    """Yield ``execute(statement, params)`` on one transaction, committed if no error."""
    if not dsn.startswith("sqlite:///"):
        with psycopg.connect(dsn, connect_timeout=timeout) as conn:
            yield conn.execute
        return
    conn = sqlite3.connect(dsn.removeprefix("sqlite:///"), timeout=timeout)
    try:
        with conn:  # commits, or rolls back on an exception

            def execute(statement: str, params: dict):
                statement = _PLACEHOLDER.sub(r":\1", statement).replace("%%", "%")
                return conn.execute(statement, params)

            yield execute
    finally:
        conn.close()


def _correct(config, statements: dict, keys, idempotency_key, timeout, changes) -> Outcome:
    """``statements["correct"]`` maps a field to its UPDATE, with ``%(value)s`` bound."""
    try:
        with _database(config["dsn"], timeout) as execute:
            affected = 0
            for change in changes:
                statement = statements.get(change["field"])
                if not statement:
                    continue
                params = {**keys.as_params(), "value": change["value"],
                          "idempotency_key": idempotency_key}  # fmt: skip
                affected += max(execute(statement, params).rowcount, 0)
    except UNAVAILABLE as exc:
        return Outcome(RETRY, f"database unavailable: {type(exc).__name__}")
    except BROKEN as exc:
        return Outcome(FAILED, f"statement failed: {type(exc).__name__}")
    return Outcome(DONE, data={"affected": affected})


def fields(config: dict) -> set[str]:
    correct = config.get("statements", {}).get("correct")
    return set(correct) if isinstance(correct, dict) else set()
