"""``sql``: parameterised statements per action against a database DSN.

Configuration: ``{"dsn": "postgres://…", "statements": {"delete": ["DELETE … WHERE email =
%(email)s", …]}}``. The subject's keys are bound as parameters by the driver, never formatted
into the SQL. All statements of an action run in one transaction. PostgreSQL DSNs go through
psycopg; ``sqlite:///path`` (the demo's shop, which needs no server) through ``sqlite3``, with
the same ``%(name)s`` placeholders.

Before connecting, the DSN and every statement pass ``destinations`` again (a system stored
before a rule changed cannot slip through). A ``check`` or ``export`` runs in a read-only
transaction, so a statement that slipped past the shape rule still cannot write.
"""

import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import psycopg

from dsar.fanout import destinations
from dsar.fanout.connectors.base import DONE, FAILED, RETRY, Call, Connector, Outcome, SubjectKeys

ALL_ACTIONS = frozenset({"check", "delete", "export", "correct", "anonymise", "close_account"})


class Sql(Connector):
    kind, label, actions = "sql", "SQL database", ALL_ACTIONS
    guarded = ("dsn", "statements")

    def config_errors(self, config: dict) -> list[str]:
        if not isinstance(config.get("dsn"), str) or not config["dsn"]:
            return ['Give "dsn", the database to connect to.']
        if not isinstance(config.get("statements"), dict):
            return ['Give "statements", an object of SQL statements per action.']
        try:
            destinations.require_sql(config)
        except destinations.Refused as exc:
            return [str(exc)]
        return []

    def fields(self, config: dict) -> set[str]:
        return fields(config)

    def describe(self, config: dict) -> str:
        return destinations.describe_dsn(config.get("dsn") or "")

    def run(self, call: Call) -> Outcome:
        return run(
            config=call.config, action=call.action, keys=call.keys,
            idempotency_key=call.idempotency_key, timeout=call.timeout, changes=call.changes,
        )  # fmt: skip


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
    if refused := _refusal(config, [(action, statement) for statement in statements]):
        return refused
    params = {**keys.as_params(), "idempotency_key": idempotency_key}
    read_only = action in destinations.READ_ACTIONS
    try:
        with _database(config["dsn"], timeout, read_only=read_only) as execute:
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


def _refusal(config: dict, statements: list[tuple[str, str]]) -> Outcome | None:
    try:
        destinations.require_sql(config, statements)
    except destinations.Refused as exc:
        return Outcome(FAILED, f"refused: {exc}")
    return None


@contextmanager
def _database(dsn: str, timeout: int, *, read_only: bool = False):
    """Yield ``execute(statement, params)`` on one transaction, committed if no error."""
    if not dsn.startswith("sqlite:///"):
        with psycopg.connect(dsn, connect_timeout=timeout) as conn:
            conn.read_only = read_only  # BEGIN READ ONLY for every transaction it opens
            yield conn.execute
        return
    # mode=rw: open an existing file, never create one; no other file may be attached.
    uri = Path(dsn.removeprefix("sqlite:///")).resolve().as_uri() + "?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    if read_only:
        conn.execute("PRAGMA query_only = ON")
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
    if refused := _refusal(config, [("correct", s) for s in statements.values()]):
        return refused
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
