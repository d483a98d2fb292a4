"""The statements a data map implies, built with SQLAlchemy Core and run on one connection.

Every statement is parameterised: table and column names come from a validated map and are
quoted by SQLAlchemy for the database's dialect; the subject's keys are bound parameters.

Which rows are the subject's: in a table with identity columns, the rows whose identity
column holds one of the subject's keys; in a table that points at another through a
reference, the rows whose ``from`` column holds the ``to`` column of the subject's rows
there — recursively, so a chain of any length is followed (the map has no cycles).

Erasure runs table by table, children before parents, each table in chunks of ``chunk``
rows, one short transaction per chunk: no statement holds locks on a large table for long,
and a crash loses at most one chunk's work. Given a ``Checkpoint``, every committed chunk is
recorded, and a retry resumes after the last one recorded instead of starting again.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import UserDefinedType

from dsar.crypto.keys import keyed_hash
from dsar.datamap.document import DELETE, MASK, MASK_HASH, MASK_NULL, Column, DataMap, Table

EXPORT_BATCH = 1000
CHECK_LIMIT = 100  # identities reported by a dry run, per table


def key_values(keys: dict) -> dict[str, list[str]]:
    """The values each identity kind is searched with; a Chinese mobile number also in its
    national form (systems store ``13912345678`` as often as ``+8613912345678``)."""
    values = {
        kind: [str(keys[kind])] for kind in ("email", "phone", "account_id") if keys.get(kind)
    }
    phone = keys.get("phone") or ""
    if phone.startswith("+86"):
        values["phone"].append(phone[3:])
    return values


class Checkpoint(Protocol):
    """Where an erasure records its progress, chunk by chunk (``Queries.erase``): kept by
    the caller under the task's idempotency key, so a retry of the same task resumes."""

    def load(self) -> dict: ...

    def save(self, state: dict) -> None: ...


@dataclass
class Report:
    """What an erasure did, in counts and names only."""

    deleted: int = 0
    masked: int = 0
    retained: list[str] = field(default_factory=list)  # "table.column (retention category)"
    statements: int = 0
    longest_ms: float = 0.0
    longest_write_ms: float = 0.0  # the longest DELETE or UPDATE: how long rows stay locked

    def as_data(self) -> dict:
        return {
            "affected": self.deleted + self.masked,
            "deleted": self.deleted,
            "masked": self.masked,
            "retained": self.retained,
            "longest_statement_ms": round(self.longest_ms, 1),
            "longest_write_ms": round(self.longest_write_ms, 1),
        }


class Queries:
    """The queries of one map for one subject's keys."""

    def __init__(self, datamap: DataMap, keys: dict, *, dialect: str):
        self.map = datamap
        self.values = key_values(keys)
        self.dialect = dialect
        self._tables: dict[str, sa.TableClause] = {}
        self._where: dict[str, object] = {}

    # --- which rows ----------------------------------------------------------------------

    def table(self, name: str) -> sa.TableClause:
        if name not in self._tables:
            spec = self.map.tables[name]
            self._tables[name] = sa.table(name, *(sa.column(c) for c in spec.columns))
        return self._tables[name]

    def where(self, name: str):
        """The condition selecting the subject's rows of ``name``; None if no key reaches it."""
        if name not in self._where:
            table, spec, clauses = self.table(name), self.map.tables[name], []
            for column in spec.identities:
                if values := self.values.get(column.identity):
                    clauses.append(table.c[column.name].in_(values))
            for ref in self.map.parents(name):
                parent_where = self.where(ref.to_table)
                if parent_where is not None:
                    parent = self.table(ref.to_table)
                    owned = sa.select(parent.c[ref.to_column]).where(parent_where)
                    clauses.append(table.c[ref.column].in_(owned))
            self._where[name] = sa.or_(*clauses) if clauses else None
        return self._where[name]

    def reached(self) -> list[Table]:
        """The tables the subject's keys reach, children before parents."""
        return [t for t in self.map.children_first() if self.where(t.name) is not None]

    # --- reading ---------------------------------------------------------------------------

    def count(self, conn: sa.Connection, name: str) -> int:
        query = sa.select(sa.func.count()).select_from(self.table(name)).where(self.where(name))
        return conn.execute(query).scalar_one()

    def export(self, conn: sa.Connection) -> Iterator[dict]:
        """Every row of the subject, one dict per row with its table's name under ``table``,
        read in batches (the database streams them where it can)."""
        for spec in reversed(self.reached()):  # parents first: the account before its orders
            table = self.table(spec.name)
            query = sa.select(*table.c).where(self.where(spec.name))
            if spec.key:
                query = query.order_by(*(table.c[k] for k in spec.key))
            result = conn.execution_options(yield_per=EXPORT_BATCH).execute(query)
            names = [*result.keys(), "table"]
            for values in result:  # rows unpack as tuples
                yield dict(zip(names, (*values, spec.name), strict=True))

    def check(self, conn: sa.Connection) -> list[dict]:
        """A dry run's rows: the emails and phones held for the subject, and the retention
        categories of retained columns the subject has rows in (``outcomes`` reads them)."""
        rows = []
        for spec in self.reached():
            table = self.table(spec.name)
            held = [c for c in spec.columns.values() if c.identity in ("email", "phone")]
            if held:
                query = sa.select(*(table.c[c.name].label(c.identity) for c in held))
                for row in conn.execute(query.where(self.where(spec.name)).limit(CHECK_LIMIT)):
                    rows.append(dict(row._mapping))
            retentions = sorted({c.retention for c in spec.retained})
            if retentions and self.count(conn, spec.name):
                rows += [{"category": category} for category in retentions]
        return rows

    def leftovers(self, conn: sa.Connection, *, anonymise: bool = False) -> dict[str, int]:
        """Proof of erasure: per table, the subject's rows still holding personal data that
        the map says goes (rows of deleted tables; unmasked values of masked columns). Only
        retained columns may remain. Empty when nothing is left."""
        left = {}
        for spec in self.reached():
            table, where = self.table(spec.name), self.where(spec.name)
            if spec.deletes_rows and not anonymise:
                count = self.count(conn, spec.name)
            else:
                unmasked = [
                    _unmasked(table.c[c.name], c)
                    for c in _masked_columns(spec, anonymise)
                    if c.mask is None or c.mask.kind != MASK_HASH
                ]
                if not unmasked:
                    continue
                query = sa.select(sa.func.count()).select_from(table)
                count = conn.execute(query.where(where, sa.or_(*unmasked))).scalar_one()
            if count:
                left[spec.name] = count
        return left

    # --- writing ---------------------------------------------------------------------------

    def erase(
        self,
        begin: Callable[[], AbstractContextManager[sa.Connection]],
        *,
        chunk: int = 1000,
        anonymise: bool = False,
        checkpoint: Checkpoint | None = None,
    ) -> Report:
        """Delete or mask the subject's rows as the map says, in chunks, each chunk in its own
        transaction (``begin()`` opens one). ``anonymise`` keeps every row and masks its
        personal columns instead (for data kept under statutory retention).

        With a ``checkpoint``, each committed chunk is recorded there (per table: the chunks
        and rows done, the last key a keyed-hash mask reached, whether the table is
        finished); an erasure resumed after a crash skips finished tables and goes on from
        the last recorded chunk, so no finished chunk is done again (a keyed hash is never
        taken of a hash) and the report counts the whole erasure. At most the one chunk
        committed but not yet recorded when the process died is redone."""
        report = Report()
        state = checkpoint.load() if checkpoint is not None else {}
        for spec in self.reached():
            report.retained += [f"{spec.name}.{c.name} ({c.retention})" for c in spec.retained]
            progress = state.setdefault(spec.name, {"chunks": 0, "deleted": 0, "masked": 0,
                                                    "last": None, "finished": False})  # fmt: skip
            report.deleted += progress["deleted"]
            report.masked += progress["masked"]
            if progress["finished"]:
                continue

            def done(*, deleted=0, masked=0, last=None, progress=progress):
                progress["chunks"] += 1
                progress["deleted"] += deleted
                progress["masked"] += masked
                progress["last"] = list(last) if last is not None else None
                if checkpoint is not None:
                    checkpoint.save(state)

            if spec.deletes_rows and not anonymise:
                self._delete_rows(begin, spec, chunk, report, done)
            elif columns := _masked_columns(spec, anonymise):
                resume = tuple(progress["last"]) if progress["last"] is not None else None
                self._mask_rows(begin, spec, columns, chunk, report, done, resume)
            progress["finished"] = True
            if checkpoint is not None:
                checkpoint.save(state)
        return report

    def _timed(self, conn: sa.Connection, statement, report: Report, *params):
        started = time.perf_counter()
        result = conn.execute(statement, *params)
        took = (time.perf_counter() - started) * 1000
        report.statements += 1
        report.longest_ms = max(report.longest_ms, took)
        if not isinstance(statement, sa.Select):
            report.longest_write_ms = max(report.longest_write_ms, took)
        return result

    def _row_ids(self, spec: Table) -> list | None:
        """The columns that name one row: the key, else the database's own row id."""
        table = self.table(spec.name)
        if spec.key:
            return [table.c[k] for k in spec.key]
        if self.dialect == "postgresql":  # read as text: drivers send no tid values
            return [sa.cast(sa.literal_column("ctid"), sa.Text)]
        if self.dialect == "sqlite":
            return [sa.literal_column("rowid")]
        return None  # MySQL without a key: DELETE … LIMIT

    def _matching(self, ids: list, values: list):
        if self.dialect == "postgresql" and isinstance(ids[0], sa.Cast):
            # Row positions back as tids, so PostgreSQL fetches the rows by position instead
            # of scanning the table: ctid = ANY('{…}'::text[]::tid[]).
            positions = sa.cast(sa.cast([v[0] for v in values], ARRAY(sa.Text)), _TidArray())
            return sa.literal_column("ctid") == sa.any_(positions)
        return ids[0].in_([v[0] for v in values]) if len(ids) == 1 else sa.tuple_(*ids).in_(values)

    def _delete_rows(self, begin, spec: Table, chunk: int, report: Report, record) -> None:
        table, where, ids = self.table(spec.name), self.where(spec.name), self._row_ids(spec)
        while True:
            with begin() as conn:
                if ids is None:
                    statement = (
                        sa.delete(table).where(where).with_dialect_options(mysql_limit=chunk)
                    )
                    done = self._timed(conn, statement, report).rowcount
                else:
                    found = self._timed(conn, sa.select(*ids).where(where).limit(chunk), report)
                    values = [tuple(row) for row in found]
                    if not values:
                        return
                    statement = sa.delete(table).where(self._matching(ids, values))
                    done = self._timed(conn, statement, report).rowcount
            report.deleted += max(done, 0)
            record(deleted=max(done, 0))
            if done < chunk:
                return

    def _mask_rows(
        self, begin, spec: Table, columns: list[Column], chunk: int, report, record, last=None
    ) -> None:
        table, where, ids = self.table(spec.name), self.where(spec.name), self._row_ids(spec)
        hashed = [c for c in columns if c.mask is not None and c.mask.kind == MASK_HASH]
        fixed = {c.name: _mask_value(c) for c in columns if c not in hashed}
        # Rows still to mask: any fixed-mask column not yet masked, or (hashes) every row,
        # walked once in key order.
        pending = sa.or_(*(_unmasked(table.c[c.name], c) for c in columns if c not in hashed))
        while True:
            with begin() as conn:
                if ids is None:
                    statement = sa.update(table).where(where, pending).values(fixed)
                    done = self._timed(
                        conn, statement.with_dialect_options(mysql_limit=chunk), report
                    ).rowcount
                    report.masked += max(done, 0)
                    record(masked=max(done, 0))
                    if done < chunk:
                        return
                    continue
                query = sa.select(*ids, *(table.c[c.name] for c in hashed)).where(where)
                if hashed:
                    if last is not None:
                        query = query.where(sa.tuple_(*ids) > sa.tuple_(*last))
                    query = query.order_by(*ids)
                else:
                    query = query.where(pending)
                rows = list(self._timed(conn, query.limit(chunk), report))
                if not rows:
                    return
                width = len(ids)
                if fixed:
                    values = [tuple(row[:width]) for row in rows]
                    statement = sa.update(table).where(self._matching(ids, values)).values(fixed)
                    self._timed(conn, statement, report)
                for column_index, column in enumerate(hashed, start=width):
                    for row in rows:
                        if row[column_index] is None:
                            continue
                        masked = _keyed(spec.name, column, row[column_index])
                        statement = (
                            sa.update(table)
                            .where(self._matching(ids, [tuple(row[:width])]))
                            .values({column.name: masked})
                        )
                        self._timed(conn, statement, report)
                last = tuple(rows[-1][:width])
            report.masked += len(rows)
            record(masked=len(rows), last=last if hashed else None)
            if len(rows) < chunk:
                return

    def correct(self, conn: sa.Connection, changes: list[dict]) -> int:
        """Write each accepted change to the column the map names for its field."""
        affected = 0
        for change in changes:
            target = self.map.correct.get(change.get("field"))
            if target is None:
                continue
            name, column = target
            statement = sa.update(self.table(name)).where(self.where(name))
            affected += max(conn.execute(statement.values({column: change["value"]})).rowcount, 0)
        return affected

    def close_account(self, conn: sa.Connection) -> int:
        account = self.map.account
        statement = sa.update(self.table(account.table)).where(self.where(account.table))
        return max(conn.execute(statement.values({account.column: account.closed})).rowcount, 0)


class _TidArray(UserDefinedType):
    """PostgreSQL's ``tid[]``, the type of a list of row positions."""

    cache_ok = True

    def get_col_spec(self, **kw):
        return "tid[]"


def _masked_columns(spec: Table, anonymise: bool) -> list[Column]:
    """The columns an erasure masks: ``mask`` ones; when anonymising, ``delete`` ones too."""
    if anonymise:
        return [c for c in spec.personal if c.policy in (MASK, DELETE)]
    return [c for c in spec.personal if c.policy == MASK]


def _mask_value(column: Column):
    """A column's mask; a ``delete`` column anonymised becomes NULL, or a fixed mark."""
    if column.mask is None:
        return None if column.nullable else ("" if column.type_family in ("text", "") else 0)
    return None if column.mask.kind == MASK_NULL else column.mask.value


def _unmasked(column_clause, column: Column):
    value = _mask_value(column)
    if value is None:
        return column_clause.is_not(None)
    return sa.or_(column_clause.is_(None), column_clause != value)


def _keyed(table: str, column: Column, value) -> str:
    digest = keyed_hash(f"{table}.{column.name}:{value}")
    return digest[: column.length] if column.length else digest
