"""The data map of one SQL system: what it says, and the rules a map must pass.

A map is a JSON document stored with the system (``config["map"]``)::

    {"tables": {
        "customers": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": false}, "marketing_ok": {"type": "boolean"},
            "email": {"type": "varchar(255)", "identity": "email", "category": "contact",
                      "policy": "delete"}}},
        "orders": {"key": ["id"], "columns": {
            "id": {"type": "integer"}, "customer_id": {"type": "integer"},
            "ship_to": {"type": "text", "category": "contact", "policy": "mask", "mask": "null"},
            "invoice_no": {"type": "varchar(40)", "category": "transaction",
                           "policy": "retain", "retention": "tax-records"}}}},
     "references": [{"from": "orders.customer_id", "to": "customers.id"}],
     "correct": {"email": "customers.email"},
     "account": {"table": "customers", "column": "status", "closed": "closed"},
     "opt_out": [{"table": "customers", "set": {"marketing_ok": false}}]}

- A table lists its columns (those the map uses: personal ones, keys and reference columns),
  with their type and nullability as discovery read them.
- A column with a ``category`` is personal and has a ``policy``: ``delete`` (the row goes),
  ``mask`` (``"null"``, ``"hash"`` — a keyed hash, for values that must stay unique — or
  ``{"value": …}``) or ``retain`` under a ``retention`` category of the legal retention
  table. A column with an ``identity`` finds the subject's rows by that key.
- A table without an identity column belongs to the subject through ``references``: a row
  whose ``from`` column holds the ``to`` column of one of the subject's rows.
- ``opt_out`` and ``restrict`` say, per table, how a marketing opt-out and a consent
  withdrawal are applied (``dsar.datamap.preferences``); without them the system cannot do
  those actions.

:func:`parse` checks every rule and answers a :class:`DataMap`, or raises
:class:`MapError` with a message per offending path; nothing is partly accepted.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dsar.datamap import preferences
from dsar.datamap.categories import CATEGORIES

# Identity kinds a column can hold; the first three are keys a verified subject brings.
LOOKUP_KINDS = ("email", "phone", "account_id")
IDENTITY_KINDS = (*LOOKUP_KINDS, "id_card", "open_id", "device_id")
DELETE, MASK, RETAIN = "delete", "mask", "retain"
POLICIES = (DELETE, MASK, RETAIN)
MASK_NULL, MASK_HASH = "null", "hash"
ACTIONS = (preferences.OPT_OUT, preferences.RESTRICT)  # the rules ``preferences`` reads

_TEXT = ("char", "text", "string", "clob", "enum", "uuid")
_INTEGER = ("int", "serial")
_NUMBER = ("numeric", "decimal", "float", "double", "real", "number")
_LENGTH = re.compile(r"\((\d+)\)")


class MapError(ValueError):
    """A map that breaks a rule; ``errors`` maps each path (``tables.orders.columns.x``) to
    its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{path}: {' '.join(m)}" for path, m in errors.items()))
        self.errors = errors

    def messages(self) -> list[str]:
        return [f"map.{path}: {message}" for path, ms in self.errors.items() for message in ms]


@dataclass(frozen=True)
class Mask:
    kind: str  # "null", "hash" or "value"
    value: object = None


@dataclass(frozen=True)
class Column:
    name: str
    type: str = ""
    nullable: bool = True
    identity: str = ""
    category: str = ""
    policy: str = ""
    mask: Mask | None = None
    retention: str = ""

    @property
    def personal(self) -> bool:
        return bool(self.category)

    @property
    def type_family(self) -> str:
        return type_family(self.type)

    @property
    def length(self) -> int | None:
        match = _LENGTH.search(self.type)
        return int(match.group(1)) if match and self.type_family == "text" else None


@dataclass(frozen=True)
class Reference:
    table: str
    column: str
    to_table: str
    to_column: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, Column]
    key: tuple[str, ...] = ()

    @property
    def personal(self) -> list[Column]:
        return [c for c in self.columns.values() if c.personal]

    @property
    def identities(self) -> list[Column]:
        return [c for c in self.columns.values() if c.identity in LOOKUP_KINDS]

    @property
    def deletes_rows(self) -> bool:
        """True when the subject's rows go as a whole (every personal column is ``delete``)."""
        return any(c.policy == DELETE for c in self.personal)

    @property
    def retained(self) -> list[Column]:
        return [c for c in self.personal if c.policy == RETAIN]


@dataclass(frozen=True)
class Account:
    table: str
    column: str
    closed: object


@dataclass(frozen=True)
class DataMap:
    tables: dict[str, Table]
    references: tuple[Reference, ...] = ()
    correct: dict[str, tuple[str, str]] = field(default_factory=dict)
    account: Account | None = None
    opt_out: tuple[preferences.Rule, ...] = ()  # how an opt-out is applied (``preferences``)
    restrict: tuple[preferences.Rule, ...] = ()  # how a consent withdrawal is applied

    def parents(self, table: str) -> list[Reference]:
        """The references from ``table`` to the tables its rows belong to."""
        return [r for r in self.references if r.table == table]

    def personal_columns(self) -> set[tuple[str, str]]:
        return {(t.name, c.name) for t in self.tables.values() for c in t.personal}

    def children_first(self) -> list[Table]:
        """Tables ordered so every table comes before the tables its rows point at: deleting
        in this order never removes a parent a remaining child still needs to be found."""
        order, seen = [], set()

        def visit(name: str):
            if name in seen:
                return
            seen.add(name)
            for ref in self.references:
                if ref.to_table == name:
                    visit(ref.table)
            order.append(self.tables[name])

        for name in sorted(self.tables):
            visit(name)
        return order

    def reachable(self) -> set[str]:
        """Tables whose rows can be tied to a subject's key."""
        found = {t.name for t in self.tables.values() if t.identities}
        changed = True
        while changed:
            changed = False
            for ref in self.references:
                if ref.to_table in found and ref.table not in found:
                    found.add(ref.table)
                    changed = True
        return found


def type_family(type_name: str) -> str:
    """``text``, ``integer``, ``number`` or ``other`` for a column type as databases name it."""
    name = type_name.lower()
    if not name:
        return ""
    if any(word in name for word in _TEXT):
        return "text"
    if any(word in name for word in _INTEGER):
        return "integer"
    if any(word in name for word in _NUMBER):
        return "number"
    return "other"


def _split(dotted, path: str, errors: dict) -> tuple[str, str] | None:
    if not isinstance(dotted, str) or dotted.count(".") != 1:
        errors.setdefault(path, []).append('Name a column as "table.column".')
        return None
    table, column = dotted.split(".")
    return table, column


def parse(
    document,
    *,
    retention_categories: Iterable[str] | None = None,
    purposes: Iterable[str] | None = None,
) -> DataMap:
    """The map ``document`` describes, every rule checked; ``MapError`` otherwise.

    ``retention_categories``, when given, are the categories a ``retain`` may name (the legal
    retention table's); ``purposes``, the consent purposes a ``restrict`` rule may name."""
    errors: dict[str, list[str]] = {}

    def error(path: str, message: str):
        errors.setdefault(path, []).append(message)

    if not isinstance(document, dict):
        raise MapError({"map": ["Give the data map as a JSON object."]})
    unknown = sorted(set(document) - {"tables", "references", "correct", "account", *ACTIONS})
    if unknown:
        error("map", f"Unknown keys: {', '.join(unknown)}.")
    raw_tables = document.get("tables")
    if not isinstance(raw_tables, dict) or not raw_tables:
        raise MapError({"tables": ["List the tables, an object of table name to its columns."]})
    kept = None if retention_categories is None else set(retention_categories)
    tables = {}
    for name, raw in raw_tables.items():
        table = _parse_table(str(name), raw, kept, error)
        if table is not None:
            tables[table.name] = table
    references = _parse_references(document.get("references", []), tables, error)
    datamap = DataMap(tables=tables, references=tuple(references))
    _check_graph(datamap, error)
    correct = _parse_correct(document.get("correct", {}), tables, error)
    account = _parse_account(document.get("account"), tables, error)
    reachable = datamap.reachable()
    rules = {
        action: preferences.parse(document.get(action), action, tables, reachable, error,
                                  purposes=purposes)
        for action in ACTIONS
    }  # fmt: skip
    if errors:
        raise MapError(errors)
    return DataMap(tables=tables, references=tuple(references), correct=correct, account=account,
                   **rules)  # fmt: skip


def _parse_table(name: str, raw, kept, error) -> Table | None:
    path = f"tables.{name}"
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict) or not raw["columns"]:
        error(path, 'Give the table as {"columns": {name: {...}}}, with at least one column.')
        return None
    columns = {}
    for column_name, spec in raw["columns"].items():
        column = _parse_column(f"{path}.columns.{column_name}", str(column_name), spec, kept, error)
        if column is not None:
            columns[column.name] = column
    key = raw.get("key", [])
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        error(f"{path}.key", "Give the key as a list of column names.")
        key = []
    for column_name in key:
        if column_name not in raw["columns"]:
            error(f"{path}.key", f"The key column {column_name} is not among the columns.")
    table = Table(name=name, columns=columns, key=tuple(key))
    policies = {c.policy for c in table.personal}
    if DELETE in policies and policies - {DELETE}:
        error(
            path,
            "A deleted row takes every column with it: mark the other personal columns "
            "delete too, or mask the delete ones where a retained column keeps the row.",
        )
    return table


def _parse_column(path: str, name: str, spec, kept, error) -> Column | None:
    if not isinstance(spec, dict):
        error(path, "Give the column as an object.")
        return None
    ctype, nullable = spec.get("type", ""), spec.get("nullable", True)
    if not isinstance(ctype, str):
        error(f"{path}.type", "Give the type as text, e.g. varchar(255).")
        ctype = ""
    if not isinstance(nullable, bool):
        error(f"{path}.nullable", "Give true or false.")
        nullable = True
    identity, category, policy = (spec.get(k, "") for k in ("identity", "category", "policy"))
    if identity and identity not in IDENTITY_KINDS:
        error(f"{path}.identity", f"Choose one of: {', '.join(IDENTITY_KINDS)}.")
    if identity and not category:
        error(f"{path}.category", "An identity column is personal: give its data category.")
    if category and category not in CATEGORIES:
        error(f"{path}.category", f"Choose one of: {', '.join(CATEGORIES)}.")
    if category and policy not in POLICIES:
        error(f"{path}.policy", f"Choose one of: {', '.join(POLICIES)}.")
    if policy and not category:
        error(f"{path}.category", "Give the data category of a column that has a policy.")
    column = Column(name=name, type=ctype, nullable=nullable, identity=identity,
                    category=category, policy=policy)  # fmt: skip
    if policy == MASK:
        mask = _parse_mask(f"{path}.mask", spec.get("mask"), column, error)
        column = Column(**{**column.__dict__, "mask": mask})
    if policy == RETAIN:
        retention = spec.get("retention")
        if not isinstance(retention, str) or not retention:
            error(f"{path}.retention", "Name the retention category that keeps this column.")
        elif kept is not None and retention not in kept:
            error(f"{path}.retention", f"No retention rule has the category {retention}.")
        else:
            column = Column(**{**column.__dict__, "retention": retention})
    return column


def _parse_mask(path: str, raw, column: Column, error) -> Mask | None:
    family = column.type_family
    if raw == MASK_NULL:
        if not column.nullable:
            error(path, "This column is NOT NULL: mask it with a value or a keyed hash.")
        return Mask(MASK_NULL)
    if raw == MASK_HASH:
        if family not in ("text", ""):
            error(path, f"A keyed hash is text; a {column.type} column cannot take it.")
        elif column.length is not None and column.length < 16:
            error(path, f"A keyed hash needs 16 characters; {column.type} holds fewer.")
        return Mask(MASK_HASH)
    if isinstance(raw, dict) and set(raw) == {"value"}:
        value = raw["value"]
        if value is None:
            return _parse_mask(path, MASK_NULL, column, error)
        if family == "text" and not isinstance(value, str):
            error(path, "This is a text column: give the mask value as text.")
        elif family == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
            error(path, f"A {column.type} column takes a whole number.")
        elif family == "number" and not isinstance(value, int | float):
            error(path, f"A {column.type} column takes a number.")
        elif family == "other":
            error(path, f"A fixed value cannot be checked for a {column.type} column; use null.")
        if isinstance(value, str) and column.length is not None and len(value) > column.length:
            error(path, f"The value is longer than {column.type} holds.")
        return Mask("value", value)
    error(path, 'Give "null", "hash" or {"value": ...}.')
    return None


def _parse_references(raw, tables: dict[str, Table], error) -> list[Reference]:
    if not isinstance(raw, list):
        error("references", 'Give a list of {"from": "table.column", "to": "table.column"}.')
        return []
    references = []
    for index, entry in enumerate(raw):
        path = f"references.{index}"
        if not isinstance(entry, dict) or set(entry) != {"from", "to"}:
            error(path, 'Give {"from": "table.column", "to": "table.column"}.')
            continue
        ends = [_split(entry[end], f"{path}.{end}", {}) for end in ("from", "to")]
        if None in ends:
            error(path, 'Name both ends as "table.column".')
            continue
        ok = True
        for end, (table, column) in zip(("from", "to"), ends, strict=True):
            if table not in tables:
                error(f"{path}.{end}", f"No table {table} is in the map.")
                ok = False
            elif column not in tables[table].columns:
                error(f"{path}.{end}", f"The table {table} has no column {column} in the map.")
                ok = False
        if ok:
            (table, column), (to_table, to_column) = ends
            if table == to_table:
                error(path, "A table cannot belong to itself.")
                continue
            references.append(Reference(table, column, to_table, to_column))
    return references


def _check_graph(datamap: DataMap, error) -> None:
    """No cycle of references; every table with personal columns reachable from a key."""
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> bool:
        if state.get(name) == "done":
            return False
        if state.get(name) == "open":
            cycle = trail[trail.index(name) :] + [name]
            error("references", f"The references form a cycle: {' → '.join(cycle)}.")
            return True
        state[name] = "open"
        for ref in datamap.parents(name):
            if visit(ref.to_table, [*trail, name]):
                return True
        state[name] = "done"
        return False

    for name in sorted(datamap.tables):
        if visit(name, []):
            return
    if not any(t.identities for t in datamap.tables.values()):
        error("tables", f"Mark at least one column as identity {', '.join(LOOKUP_KINDS)}.")
        return
    reachable = datamap.reachable()
    for table in datamap.tables.values():
        if table.personal and table.name not in reachable:
            error(
                f"tables.{table.name}",
                "No identity column or reference ties these rows to a subject; add a reference.",
            )


def _parse_correct(raw, tables: dict[str, Table], error) -> dict[str, tuple[str, str]]:
    if not isinstance(raw, dict):
        error("correct", 'Give an object of field to "table.column".')
        return {}
    fields = {}
    for name, dotted in raw.items():
        path = f"correct.{name}"
        target = _split(dotted, path, {})
        if target is None:
            error(path, 'Name the column as "table.column".')
        elif target[0] not in tables or target[1] not in tables[target[0]].columns:
            error(path, f"{dotted} is not a column of the map.")
        else:
            fields[str(name)] = target
    return fields


def _parse_account(raw, tables: dict[str, Table], error) -> Account | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"table", "column", "closed"}:
        error("account", 'Give {"table": ..., "column": ..., "closed": value}.')
        return None
    table, column = raw["table"], raw["column"]
    if table not in tables or column not in tables[table].columns:
        error("account", f"{table}.{column} is not a column of the map.")
        return None
    if not tables[table].identities:
        error("account", f"The account table {table} needs an identity column.")
        return None
    return Account(table=table, column=column, closed=raw["closed"])
