"""``sql``: parameterised statements per action against a database DSN.

Configuration: ``{"dsn": "postgres://…", "statements": {"delete": ["DELETE … WHERE email =
%(email)s", …]}}``. The subject's keys are bound as parameters (psycopg), never formatted into
the SQL. All statements of an action run in one transaction.
"""

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
        with psycopg.connect(config["dsn"], connect_timeout=timeout) as conn:
            affected, rows = 0, []
            for statement in statements:
                cursor = conn.execute(statement, params)
                if cursor.description:  # a SELECT (export, check): return its rows
                    names = [c.name for c in cursor.description]
                    rows += [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                else:
                    affected += max(cursor.rowcount, 0)
    except psycopg.OperationalError as exc:
        return Outcome(RETRY, f"database unavailable: {type(exc).__name__}")
    except psycopg.Error as exc:
        return Outcome(FAILED, f"statement failed: {type(exc).__name__}")
    return Outcome(DONE, data={"affected": affected, "rows": rows})


def _correct(config, statements: dict, keys, idempotency_key, timeout, changes) -> Outcome:
    """``statements["correct"]`` maps a field to its UPDATE, with ``%(value)s`` bound."""
    try:
        with psycopg.connect(config["dsn"], connect_timeout=timeout) as conn:
            affected = 0
            for change in changes:
                statement = statements.get(change["field"])
                if not statement:
                    continue
                params = {**keys.as_params(), "value": change["value"],
                          "idempotency_key": idempotency_key}  # fmt: skip
                affected += max(conn.execute(statement, params).rowcount, 0)
    except psycopg.OperationalError as exc:
        return Outcome(RETRY, f"database unavailable: {type(exc).__name__}")
    except psycopg.Error as exc:
        return Outcome(FAILED, f"statement failed: {type(exc).__name__}")
    return Outcome(DONE, data={"affected": affected})


def fields(config: dict) -> set[str]:
    correct = config.get("statements", {}).get("correct")
    return set(correct) if isinstance(correct, dict) else set()
