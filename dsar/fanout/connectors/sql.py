"""``sql``: a database described by a data map, or hand-written statements, or both.

Configuration: ``{"dsn": "postgres://…" | "mysql://…" | "sqlite:///path", "map": {…},
"statements": {"delete": ["DELETE … WHERE email = %(email)s", …]}, "chunk_rows": 1000}``.

- With a ``map`` (``dsar.datamap.document``), every action is generated from it
  (``dsar.datamap.queries``): check, export, delete, anonymise, correct (the fields the map
  names), close_account (when the map names the account's status column), and opt_out and
  restrict (when the map has their rules, ``dsar.datamap.preferences``). A ``restrict`` by
  hand runs its statements once per purpose withdrawn, with ``%(purpose)s`` bound.
- A hand-written statement list for an action wins over the generated one (the odd case a
  map cannot say). The subject's keys are bound as parameters by the driver, never formatted
  into the SQL; all statements of an action run in one transaction.
- After a delete or anonymise, the map's queries run again for the same keys (the proof of
  erasure): the task is done only if nothing but retained columns remains; otherwise it
  fails, naming the tables that still match.

PostgreSQL, MySQL/MariaDB and SQLite go through one code path (SQLAlchemy, ``engines``).
Before connecting, the DSN and every statement pass ``destinations`` again (a system stored
before a rule changed cannot slip through). A ``check`` or ``export`` runs in a read-only
transaction, so a statement that slipped past the shape rule still cannot write.
"""

import itertools
import re
from collections.abc import Iterator
from functools import partial

import sqlalchemy as sa
from django.apps import apps
from sqlalchemy import exc

from dsar.datamap import document, engines, preferences
from dsar.datamap.queries import EXPORT_BATCH, Queries
from dsar.fanout import destinations
from dsar.fanout.connectors.base import (
    DONE,
    FAILED,
    RETRY,
    Call,
    Checkpoint,
    Connector,
    Outcome,
    RowSink,
    SubjectKeys,
)

PREFERENCES = frozenset({preferences.OPT_OUT, preferences.RESTRICT})
ALL_ACTIONS = frozenset(
    {"check", "delete", "export", "correct", "anonymise", "close_account", *PREFERENCES}
)
ERASING = frozenset({"delete", "anonymise"})
DEFAULT_CHUNK = 1000


class Sql(Connector):
    kind, label, actions = "sql", "SQL database", ALL_ACTIONS
    guarded = ("dsn", "statements", "map")
    proves_erasure = True  # with a map: see ``run``
    has_data_map = True
    resumes = True  # a chunked erasure (``datamap.queries``) records each committed chunk

    def config_errors(self, config: dict) -> list[str]:
        if not isinstance(config.get("dsn"), str) or not config["dsn"]:
            return ['Give "dsn", the database to connect to.']
        has_map, statements = "map" in config, config.get("statements")
        if not has_map and not isinstance(statements, dict):
            return ['Give "map", the data map, or "statements", SQL statements per action.']
        if statements is not None and not isinstance(statements, dict):
            return ['Give "statements" as an object of SQL statements per action.']
        chunk = config.get("chunk_rows", DEFAULT_CHUNK)
        if not isinstance(chunk, int) or isinstance(chunk, bool) or not 1 <= chunk <= 100_000:
            return ['Give "chunk_rows" as a whole number from 1 to 100000.']
        try:
            destinations.require_sql(config)
        except destinations.Refused as exc:
            return [str(exc)]
        if has_map:
            from dsar.workflow.models import ConsentPurpose  # loads after the connectors

            try:
                document.parse(config["map"], retention_categories=retention_categories(),
                               purposes=ConsentPurpose.values)  # fmt: skip
            except document.MapError as error:
                return error.messages()
        return []

    def unable(self, action: str, config: dict) -> str:
        if action not in self.actions:
            return super().unable(action, config)
        if action not in PREFERENCES or (config.get("statements") or {}).get(action):
            return ""
        try:
            datamap = document.parse(config["map"]) if "map" in config else None
        except document.MapError:
            return "its data map is not valid"
        if datamap is None or not _generated(datamap, action):
            return f"its data map has no {action} rule"
        return ""

    def fields(self, config: dict) -> set[str]:
        return fields(config)

    def describe(self, config: dict) -> str:
        return destinations.describe_dsn(config.get("dsn") or "")

    def run(self, call: Call) -> Outcome:
        return run(
            config=call.config, action=call.action, keys=call.keys,
            idempotency_key=call.idempotency_key, timeout=call.timeout, changes=call.changes,
            export_to=call.export_to, checkpoint=call.checkpoint, purposes=call.purposes,
        )  # fmt: skip


def retention_categories() -> list[str]:
    """The categories the legal retention table keeps (a map's ``retain`` must name one).
    Read through the app registry: this module loads before the models do."""
    model = apps.get_model("legal", "RetentionRule")
    return list(model.objects.values_list("category", flat=True))


def run(
    *,
    config: dict,
    action: str,
    keys: SubjectKeys,
    idempotency_key: str,
    timeout: int,
    changes: list[dict] | None = None,
    export_to: RowSink | None = None,
    checkpoint: Checkpoint | None = None,
    purposes: list[str] | None = None,
):
    """One action on the database. An export's rows are read through a server-side cursor
    (PostgreSQL, MySQL/MariaDB) in batches of ``EXPORT_BATCH`` and handed to ``export_to``
    batch by batch when given (never all held), else returned as ``rows``."""
    statements = (config.get("statements") or {}).get(action)
    if isinstance(statements, str):
        statements = [statements]
    try:
        datamap = document.parse(config["map"]) if "map" in config else None
    except document.MapError as error:
        return Outcome(FAILED, f"refused: the data map is not valid: {error}")
    if not statements and not _generated(datamap, action):
        return Outcome(FAILED, f"No statements configured for {action}.")
    pairs = [(action, s) for s in (statements.values() if isinstance(statements, dict)
                                   else statements or [])]  # fmt: skip
    if refused := _refusal(config, pairs):
        return refused
    params = {**keys.as_params(), "idempotency_key": idempotency_key}
    engine = engines.engine_for(config["dsn"], timeout=timeout)
    begin = partial(engines.transaction, engine)
    queries = (
        Queries(datamap, keys.as_params(), dialect=engine.dialect.name)
        if datamap is not None
        else None
    )
    try:
        if statements and action == "correct":
            data = {"affected": _correct_by_hand(begin, statements, params, changes or [])}
        elif statements and action == preferences.RESTRICT:
            data = _restrict_by_hand(begin, statements, params, purposes or [])
        elif statements:
            data = _by_hand(begin, action, statements, params, export_to)
        elif action in PREFERENCES:
            with begin() as conn:
                rules = getattr(datamap, action)
                data = preferences.apply(queries, conn, rules, purposes=purposes or [])
        else:
            data = _generated_run(
                engine, queries, action, changes or [], config, export_to, checkpoint
            )
        if queries is not None and action in ERASING:
            with begin(read_only=True) as conn:
                left = queries.leftovers(conn, anonymise=action == "anonymise")
            if left:
                tables = ", ".join(f"{name} ({count})" for name, count in sorted(left.items()))
                return Outcome(FAILED, f"proof of erasure: rows remain in {tables}")
            data["verified"] = {"rows_left": 0}
    except exc.DBAPIError as error:
        if engines.unavailable(error):
            return Outcome(RETRY, f"database unavailable: {type(error.orig).__name__}")
        return Outcome(FAILED, f"statement failed: {type(error.orig).__name__}")
    except exc.SQLAlchemyError as error:
        return Outcome(FAILED, f"statement failed: {type(error).__name__}")
    finally:
        engine.dispose()
    return Outcome(DONE, data=data)


def _generated(datamap, action: str) -> bool:
    """True if the map can run ``action`` by itself."""
    if datamap is None:
        return False
    if action == "correct":
        return bool(datamap.correct)
    if action == "close_account":
        return datamap.account is not None
    if action in PREFERENCES:
        return bool(getattr(datamap, action))
    return action in ALL_ACTIONS


def _generated_run(
    engine, queries: Queries, action: str, changes: list, config: dict, export_to=None,
    checkpoint=None,
) -> dict:  # fmt: skip
    chunk = config.get("chunk_rows", DEFAULT_CHUNK)
    begin = partial(engines.transaction, engine)
    if action == "export" and export_to is not None:
        with begin(read_only=True) as conn:
            return {"row_count": _send(queries.export(conn), export_to)}
    if action in ("check", "export"):
        with begin(read_only=True) as conn:
            rows = queries.check(conn) if action == "check" else list(queries.export(conn))
        return {"rows": rows}
    if action in ERASING:
        with engines.one_connection(engine) as chunk_begin:
            report = queries.erase(chunk_begin, chunk=chunk, anonymise=action == "anonymise",
                                   checkpoint=checkpoint)  # fmt: skip
        return report.as_data()
    with begin() as conn:
        if action == "correct":
            return {"affected": queries.correct(conn, changes)}
        return {"affected": queries.close_account(conn)}


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _text(statement: str) -> sa.TextClause:
    """A hand-written statement with ``%(name)s`` placeholders as a bound text clause: any
    other colon is escaped first, so only our placeholders become parameters."""
    escaped = statement.replace(":", "\\:")
    return sa.text(_PLACEHOLDER.sub(r":\1", escaped).replace("%%", "%"))


def _send(rows: Iterator[dict], sink: RowSink) -> int:
    """Hand ``rows`` to ``sink`` in batches of ``EXPORT_BATCH``; how many there were."""
    count, rows = 0, iter(rows)
    while batch := list(itertools.islice(rows, EXPORT_BATCH)):
        sink.write(batch)
        count += len(batch)
    return count


def _by_hand(begin, action: str, statements: list[str], params: dict, export_to=None) -> dict:
    read_only = action in destinations.READ_ACTIONS
    streaming = action == "export" and export_to is not None
    affected, rows, count = 0, [], 0
    with begin(read_only=read_only) as conn:
        for statement in statements:
            clause = _text(statement)
            if streaming:  # a server-side cursor, read in batches
                conn = conn.execution_options(yield_per=EXPORT_BATCH)
            result = conn.execute(clause, params)
            if result.returns_rows and streaming:
                count += _send((dict(row) for row in result.mappings()), export_to)
            elif result.returns_rows:  # a SELECT (export, check): return its rows
                rows += [dict(row) for row in result.mappings()]
            else:
                affected += max(result.rowcount, 0)
    if streaming:
        return {"affected": affected, "row_count": count}
    return {"affected": affected, "rows": rows}


def _correct_by_hand(begin, statements: dict, params: dict, changes: list[dict]) -> int:
    """``statements["correct"]`` maps a field to its UPDATE, with ``%(value)s`` bound."""
    affected = 0
    with begin() as conn:
        for change in changes:
            statement = statements.get(change["field"])
            if not statement:
                continue
            clause = _text(statement)
            result = conn.execute(clause, {**params, "value": change["value"]})
            affected += max(result.rowcount, 0)
    return affected


def _restrict_by_hand(begin, statements: list[str], params: dict, purposes: list[str]) -> dict:
    """Each statement once per purpose withdrawn, ``%(purpose)s`` bound; one transaction."""
    affected = 0
    with begin() as conn:
        for purpose in purposes:
            for statement in statements:
                result = conn.execute(_text(statement), {**params, "purpose": purpose})
                affected += max(result.rowcount, 0)
    return {"affected": affected}


def _refusal(config: dict, statements: list[tuple[str, str]]) -> Outcome | None:
    try:
        destinations.require_sql(config, statements)
    except destinations.Refused as exc:
        return Outcome(FAILED, f"refused: {exc}")
    return None


def fields(config: dict) -> set[str]:
    correct = (config.get("statements") or {}).get("correct")
    by_hand = set(correct) if isinstance(correct, dict) else set()
    mapped = config.get("map", {}).get("correct") if isinstance(config.get("map"), dict) else None
    return by_hand | (set(mapped) if isinstance(mapped, dict) else set())
