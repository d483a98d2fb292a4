"""Discovery: read a downstream database's schema and propose where its personal data lives.

``inspect_schema`` reads tables, columns, types, declared keys and comments through
SQLAlchemy's inspector. ``discover`` adds a bounded sample of values per table (one
``SELECT … LIMIT`` each, in a read-only transaction) and proposes a draft map: which column
holds what, why (the evidence) and how sure we are (the confidence). A proposal is only a
proposal: staff accept, change or reject it before any of it is used.

Sampled values live in local variables while a table's columns are tested and nowhere
else: not in the draft, not in an evidence string, not in a log line or an exception.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from dsar.datamap import detectors
from dsar.datamap.inference import column_kind, infer_references, is_people_table

VALUE_PREFIX = 128  # characters of a text value worth testing; free text is never needed whole
MIN_RATIO = 0.8  # share of a column's non-empty sampled values that must have one shape


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    comment: str


@dataclass(frozen=True)
class Reference:
    """``table.columns`` points at ``ref_table.ref_columns``: a declared foreign key, or one
    discovery inferred from the names (``declared=False``)."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    declared: bool


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    references: tuple[Reference, ...]
    row_estimate: int | None
    comment: str = ""

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


@dataclass(frozen=True)
class Proposal:
    """``table.column`` holds personal data of ``category``; when ``identity`` is set, the
    column identifies the subject and can be looked up by the subject's key of that kind."""

    table: str
    column: str
    identity: str
    category: str
    evidence: tuple[str, ...]
    confidence: float

    def to_dict(self) -> dict:
        return {**_fields(self), "evidence": list(self.evidence)}

    @classmethod
    def from_dict(cls, data: dict) -> "Proposal":
        return cls(**{**data, "evidence": tuple(data["evidence"])})


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        return next(table for table in self.tables if table.name == name)

    def to_dict(self) -> dict:
        return {"tables": [_table_to_dict(table) for table in self.tables]}

    @classmethod
    def from_dict(cls, data: dict) -> "Schema":
        return cls(tables=tuple(_table_from_dict(table) for table in data["tables"]))


@dataclass(frozen=True)
class Draft:
    """A proposed map. ``unsampled`` names the tables whose values could not be read (no
    privilege, say): their proposals rest on names and comments only."""

    schema: Schema
    proposals: tuple[Proposal, ...]
    inferred_references: tuple[Reference, ...]
    unsampled: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "schema": self.schema.to_dict(),
            "proposals": [proposal.to_dict() for proposal in self.proposals],
            "inferred_references": [_reference_to_dict(r) for r in self.inferred_references],
            "unsampled": list(self.unsampled),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Draft":
        return cls(
            schema=Schema.from_dict(data["schema"]),
            proposals=tuple(Proposal.from_dict(p) for p in data["proposals"]),
            inferred_references=tuple(_reference_from_dict(r) for r in data["inferred_references"]),
            unsampled=tuple(data.get("unsampled", ())),
        )


def inspect_schema(engine: sa.Engine, *, schema: str | None = None) -> Schema:
    """The tables of ``schema`` (the connection's default when None) as the database declares
    them: columns with types and comments, primary keys, foreign keys, row estimates.
    Reads the catalogue only, never a row."""
    return _reflect(engine, schema)[0]


def discover(engine: sa.Engine, *, sample_size: int = 50, schema: str | None = None) -> Draft:
    """A draft map of ``schema``: the schema, a proposal per column that looks personal, and
    the references inferred where no foreign key is declared. Reads at most ``sample_size``
    rows per table, read-only; no sampled value leaves this function."""
    found, sa_types = _reflect(engine, schema)
    inferred = tuple(
        Reference(table, (column,), ref_table, (ref_column,), declared=False)
        for table, column, ref_table, ref_column in infer_references(found, sa_types)
    )
    pointers = _people_pointers(found, inferred)
    sampled, unsampled = _sample_all(engine, found, sa_types, schema, sample_size)
    proposals = []
    for table in found.tables:
        for column in table.columns:
            key = (table.name, column.name)
            proposal = _propose(table, column, sa_types[key], sampled.get(key), pointers.get(key))
            if proposal is not None:
                proposals.append(proposal)
    return Draft(found, tuple(proposals), inferred, tuple(unsampled))


# --- reflection ------------------------------------------------------------------------


def _reflect(engine: sa.Engine, schema: str | None) -> tuple[Schema, dict]:
    inspector = sa.inspect(engine)
    columns = inspector.get_multi_columns(schema=schema)
    keys = inspector.get_multi_pk_constraint(schema=schema)
    foreign = inspector.get_multi_foreign_keys(schema=schema)
    try:
        comments = inspector.get_multi_table_comment(schema=schema)
    except NotImplementedError:  # SQLite keeps no comments
        comments = {}
    estimates = _row_estimates(engine, schema or inspector.default_schema_name)
    tables, sa_types = [], {}
    for key in sorted(columns, key=lambda key: key[1]):
        name = key[1]
        for column in columns[key]:
            sa_types[(name, column["name"])] = column["type"]
        tables.append(
            Table(
                name=name,
                columns=tuple(_column(engine, column) for column in columns[key]),
                primary_key=tuple(keys.get(key, {}).get("constrained_columns") or ()),
                references=tuple(
                    Reference(
                        name,
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        True,
                    )
                    for fk in foreign.get(key, ())
                ),
                row_estimate=estimates.get(name),
                comment=(comments.get(key) or {}).get("text") or "",
            )
        )
    return Schema(tuple(tables)), sa_types


def _column(engine: sa.Engine, column: dict) -> Column:
    try:
        type_name = column["type"].compile(dialect=engine.dialect)
    except sa.exc.CompileError:  # a type SQLAlchemy does not know (NullType)
        type_name = str(column["type"].__class__.__name__)
    return Column(column["name"], type_name, bool(column["nullable"]), column.get("comment") or "")


def _row_estimates(engine: sa.Engine, schema: str | None) -> dict[str, int]:
    """The planner's row counts (PostgreSQL ``reltuples``, MySQL ``table_rows``): free to read,
    roughly right after ANALYZE; absent where the database keeps none."""
    if engine.dialect.name == "postgresql":
        query = sa.text(
            "SELECT c.relname, c.reltuples FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')"
        )
    elif engine.dialect.name in ("mysql", "mariadb"):
        query = sa.text(
            "SELECT table_name, table_rows FROM information_schema.tables "
            "WHERE table_schema = :schema AND table_type = 'BASE TABLE'"
        )
    else:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(query, {"schema": schema}).all()
    return {name: int(count) for name, count in rows if count is not None and count >= 0}


# --- sampling --------------------------------------------------------------------------


@contextmanager
def read_only(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a read-only transaction (PostgreSQL, MySQL and MariaDB refuse any
    write in it; SQLite answers ``query_only``), rolled back at the end."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA query_only = ON")
        try:
            _begin_read_only(connection)
            yield connection
            connection.rollback()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA query_only = OFF")


def _begin_read_only(connection: sa.Connection) -> None:
    if connection.dialect.name in ("postgresql", "mysql", "mariadb"):
        connection.execute(sa.text("SET TRANSACTION READ ONLY"))


def _sample_all(engine, found: Schema, sa_types: dict, schema, sample_size: int):
    """Sampled values by (table, column), for the columns worth testing, and the tables that
    could not be read."""
    sampled, unsampled = {}, []
    if sample_size <= 0:
        return sampled, unsampled
    with read_only(engine) as connection:
        for table in found.tables:
            names = [c.name for c in table.columns if _worth_sampling(table, c, sa_types)]
            if not names:
                continue
            query = _sample_query(table, names, sa_types, schema, sample_size)
            try:
                rows = _fetch_unlogged(connection, query)
            except connection.dialect.loaded_dbapi.Error:
                unsampled.append(table.name)
                connection.rollback()  # PostgreSQL refuses more work in a failed transaction
                _begin_read_only(connection)
                continue
            values = list(zip(*rows, strict=True)) or [() for _ in names]
            sampled.update(((table.name, name), v) for name, v in zip(names, values, strict=True))
    return sampled, unsampled


def _fetch_unlogged(connection: sa.Connection, query) -> list:
    """Rows of ``query`` read through the driver's own cursor: SQLAlchemy logs result rows
    when its engine logger is at DEBUG, and sampled values must never reach a log. The
    statement has no parameters (SQLAlchemy renders the limit), so nothing else changes."""
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _worth_sampling(table: Table, column: Column, sa_types: dict) -> bool:
    kind = column_kind(sa_types[(table.name, column.name)])
    if kind == "integer":
        return column.name not in table.primary_key  # a serial key has no shape to find
    return kind == "text"


def _sample_query(table: Table, names: list[str], sa_types: dict, schema, limit: int):
    clause = sa.table(table.name, *(sa.column(name) for name in names), schema=schema)
    selected = []
    for name in names:
        if column_kind(sa_types[(table.name, name)]) == "text":
            selected.append(sa.func.substr(clause.c[name], 1, VALUE_PREFIX))
        else:
            selected.append(clause.c[name])
    return sa.select(*selected).limit(limit)


# --- proposals -------------------------------------------------------------------------


def _people_pointers(found: Schema, inferred: Iterable[Reference]) -> dict:
    """(table, column) → evidence, for primary keys of people tables and columns that point
    at one (declared or inferred)."""
    people = {table.name for table in found.tables if is_people_table(table)}
    pointers = {}
    for table in found.tables:
        if table.name in people and len(table.primary_key) == 1:
            pointers[(table.name, table.primary_key[0])] = (
                "key: primary key of a people table",
                0.6,
            )
    for reference in (*[r for t in found.tables for r in t.references], *inferred):
        if reference.ref_table in people and len(reference.columns) == 1:
            how = "declared" if reference.declared else "inferred"
            target = f"{reference.ref_table}.{reference.ref_columns[0]}"
            strength = 0.8 if reference.declared else 0.7
            pointers[(reference.table, reference.columns[0])] = (
                f"reference: {how}, to {target}",
                strength,
            )
    return pointers


def _value_finding(values) -> tuple[detectors.ValueRule, str, float] | None:
    """The one value shape most of a column's sampled values have, as evidence."""
    texts = [str(value).strip() for value in values if value is not None]
    texts = [text for text in texts if text]
    if not texts:
        return None
    allowed_misses = int(len(texts) * (1 - MIN_RATIO) + 1e-9)
    for rule in detectors.VALUE_RULES:
        misses = 0
        for text in texts:
            if not rule.test(text):
                misses += 1
                if misses > allowed_misses:
                    break  # this shape cannot reach the ratio any more
        hits = len(texts) - misses
        ratio = hits / len(texts)
        if ratio >= MIN_RATIO and hits >= min(3, len(texts)):
            evidence = f"values: {hits} of {len(texts)} sampled look like {rule.label}"
            few = 1.0 if len(texts) >= 10 else 0.75
            return rule, evidence, rule.strength * ratio * few
    return None


_TYPE_SHAPES = {
    "inet": ("", "online_identity", "type: inet"),
    "cidr": ("", "online_identity", "type: cidr"),
    "macaddr": ("device_id", "device", "type: macaddr"),
    "point": ("", "location", "type: point"),
    "geometry": ("", "location", "type: geometry"),
    "geography": ("", "location", "type: geography"),
}


def _propose(table: Table, column: Column, sa_type, values, pointer) -> Proposal | None:
    kind = column_kind(sa_type)
    evidence, strengths = [], []
    identity = category = ""
    keyword = _keyword(table, column, kind)
    for match, strength in keyword:
        identity, category = identity or match.identity, category or match.category
        evidence.append(match.evidence)
        strengths.append(strength)
    shape = _TYPE_SHAPES.get(column.type.split("(")[0].lower())
    if shape:
        identity, category = shape[0], shape[1]
        evidence.append(shape[2])
        strengths.append(0.9)
    finding = _value_finding(values) if values is not None else None
    if finding:
        rule, said, strength = finding
        identity, category = rule.identity, rule.category  # what the values are wins
        evidence.append(said)
        strengths.append(strength)
    if pointer:
        identity, category = identity or "account_id", category or "online_identity"
        evidence.append(pointer[0])
        strengths.append(pointer[1])
    elif not identity and kind in ("integer", "text") and detectors.is_account_name(column.name):
        identity, category = "account_id", category or "online_identity"
        evidence.append(f"name: {column.name} names a person's id")
        strengths.append(0.6)
    if not evidence:
        return None
    doubt = 1.0
    against = _contradiction(keyword[0][0].identity, values) if keyword and not finding else None
    if against:
        evidence.append(against)
        doubt = 0.6  # named like a phone, yet the sampled values are something else
    confidence = 1.0
    for strength in strengths:
        confidence *= 1 - strength
    confidence = round(min(0.99, (1 - confidence) * doubt), 2)
    return Proposal(table.name, column.name, identity, category, tuple(evidence), confidence)


def _keyword(table: Table, column: Column, kind: str) -> list:
    if kind == "boolean":
        return []  # whether something holds is not the thing
    matches = []
    by_name = detectors.match_name(column.name)
    bare_name = detectors.name_tokens(column.name) == ("name",)
    if by_name is None and bare_name and is_people_table(table):
        by_name = detectors.KeywordMatch("", "basic_profile", "name: name, in a people table")
    if by_name is None and not column.name.isascii():  # a Chinese name reads like a comment
        found = detectors.match_comment(column.name)
        if found is not None:
            evidence = found.evidence.replace("comment:", "name:", 1)
            by_name = detectors.KeywordMatch(found.identity, found.category, evidence)
    by_comment = detectors.match_comment(column.comment)
    for match in (by_name, by_comment):
        if match is None:
            continue
        if kind == "temporal" and match.category != "basic_profile":
            continue  # when an email was verified is not an email; a birth date is personal
        matches.append((match, 0.6))
    return matches


_SHAPE_OF = {
    "email": detectors.VALUE_RULES[0],
    "phone": detectors.VALUE_RULES[1],
    "id_card": detectors.VALUE_RULES[2],
}


def _contradiction(identity: str, values) -> str | None:
    """Evidence against a name: none of five or more sampled values has the named shape."""
    rule = _SHAPE_OF.get(identity)
    texts = [str(value).strip() for value in values or () if value is not None]
    texts = [text for text in texts if text]
    if rule is None or len(texts) < 5 or any(rule.test(text) for text in texts):
        return None
    return f"values: 0 of {len(texts)} sampled look like {rule.label}"


def _fields(item) -> dict:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


def _reference_to_dict(reference: Reference) -> dict:
    return {
        **_fields(reference),
        "columns": list(reference.columns),
        "ref_columns": list(reference.ref_columns),
    }


def _reference_from_dict(data: dict) -> Reference:
    return Reference(
        **{**data, "columns": tuple(data["columns"]), "ref_columns": tuple(data["ref_columns"])}
    )


def _table_to_dict(table: Table) -> dict:
    return {
        **_fields(table),
        "columns": [_fields(column) for column in table.columns],
        "primary_key": list(table.primary_key),
        "references": [_reference_to_dict(reference) for reference in table.references],
    }


def _table_from_dict(data: dict) -> Table:
    return Table(
        **{
            **data,
            "columns": tuple(Column(**column) for column in data["columns"]),
            "primary_key": tuple(data["primary_key"]),
            "references": tuple(_reference_from_dict(r) for r in data["references"]),
        }
    )
