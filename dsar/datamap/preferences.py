"""How a mapped database applies a marketing opt-out and a consent withdrawal.

A map may list, per table, what ``opt_out`` and ``restrict`` do there::

    "opt_out": [
        {"table": "customers", "set": {"marketing_ok": false}},
        {"table": "suppressions", "insert": {"address": "email", "source": {"value": "dsar"}}}],
    "restrict": [
        {"table": "consents", "purpose": "purpose", "delete": true},
        {"table": "customers", "purposes": ["profiling"], "set": {"profiling_ok": false}},
        {"table": "withdrawals", "insert": {"email": "email", "purpose": "purpose"}}]

- ``set`` changes the subject's rows of the table (found as every other query finds them:
  identity columns, then references) to the given values; only rows not holding them yet
  are written, so a repeat changes nothing.
- ``insert`` adds one row (one per named purpose when a column takes ``"purpose"``) unless
  an equal row is there already. A column takes one of the subject's keys (``"email"``,
  ``"phone"``, ``"account_id"``), ``"purpose"`` (restrict only) or ``{"value": …}``; a rule
  whose key the task does not carry (an opt-out proven by phone meets an email column) adds
  nothing.
- ``delete`` (restrict only) removes the subject's rows.
- In ``restrict``, ``"purpose": column`` limits ``set`` and ``delete`` to the rows whose
  column holds one of the purposes withdrawn, and ``"purposes": [...]`` makes a rule apply
  only when one of those purposes is withdrawn (a column per purpose).

An opt-out's task carries the proven channel only, so its rules reach the rows of that
address or phone and nothing tied to the account alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

OPT_OUT, RESTRICT = "opt_out", "restrict"
HOWS = ("set", "insert", "delete")
KEY_SOURCES = ("email", "phone", "account_id")
PURPOSE = "purpose"


@dataclass(frozen=True)
class Rule:
    table: str
    how: str  # "set", "insert" or "delete"
    values: tuple[tuple[str, object], ...] = ()  # set: (column, value); insert: (column, source)
    purpose_column: str = ""
    purposes: tuple[str, ...] = ()  # empty: whatever is withdrawn

    def applies_to(self, withdrawn: Iterable[str]) -> bool:
        return not self.purposes or bool(set(self.purposes) & set(withdrawn))


@dataclass(frozen=True)
class Fixed:
    """An inserted column's fixed value (``{"value": …}``)."""

    value: object


def parse(raw, action: str, tables: dict, reachable: set[str], error, *, purposes=None) -> tuple:
    """The rules of ``action`` (``opt_out`` or ``restrict``), each checked against the map's
    ``tables``; a message per offending path through ``error(path, message)``. ``purposes``,
    when given, are the purpose names a rule may name."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        error(action, 'Give a list of rules, e.g. [{"table": ..., "set": {...}}].')
        return ()
    rules = []
    for index, entry in enumerate(raw):
        rule = _parse_rule(f"{action}.{index}", entry, action, tables, reachable, error, purposes)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _parse_rule(path, entry, action, tables, reachable, error, purposes) -> Rule | None:
    if not isinstance(entry, dict):
        error(path, 'Give the rule as {"table": ..., and one of "set", "insert", "delete"}.')
        return None
    allowed = {"table", *HOWS, *(("purpose", "purposes") if action == RESTRICT else ())}
    if unknown := sorted(set(entry) - allowed):
        error(path, f"Unknown keys: {', '.join(unknown)}.")
        return None
    hows = [h for h in HOWS if h in entry]
    if len(hows) != 1:
        error(path, 'Give exactly one of "set", "insert" or "delete".')
        return None
    how, name = hows[0], entry.get("table")
    if not isinstance(name, str) or name not in tables:
        error(f"{path}.table", "Name a table of the map.")
        return None
    table = tables[name]
    if how == "delete" and action == OPT_OUT:
        error(f"{path}.delete", "An opt-out keeps the subject's rows: use set or insert.")
        return None
    if how in ("set", "delete") and name not in reachable:
        error(f"{path}.table", f"No identity column or reference ties {name}'s rows to a subject.")
        return None
    purpose_column = _purpose_column(path, entry, how, table, error)
    named = _purposes(path, entry, purposes, error)
    if how == "delete":
        if entry["delete"] is not True:
            error(f"{path}.delete", "Give true.")
        values = ()
    elif how == "set":
        values = _set_values(f"{path}.set", entry["set"], table, error)
    else:
        values = _insert_values(f"{path}.insert", entry["insert"], action, table, error)
    return Rule(table=name, how=how, values=values, purpose_column=purpose_column,
                purposes=named)  # fmt: skip


def _purpose_column(path, entry, how, table, error) -> str:
    column = entry.get("purpose", "")
    if not column:
        return ""
    if how == "insert":
        error(f"{path}.purpose", 'An insert names its purpose column as "purpose" in "insert".')
    elif not isinstance(column, str) or column not in table.columns:
        error(f"{path}.purpose", f"Name a column of {table.name} in the map.")
        return ""
    return column


def _purposes(path, entry, purposes, error) -> tuple[str, ...]:
    named = entry.get("purposes", [])
    if not isinstance(named, list) or not all(isinstance(p, str) for p in named):
        error(f"{path}.purposes", "Give a list of purposes.")
        return ()
    if purposes is not None and (unknown := sorted(set(named) - set(purposes))):
        error(f"{path}.purposes", f"Unknown purposes: {', '.join(unknown)}.")
    return tuple(dict.fromkeys(named))


def _columns(path, raw, table, error) -> list[tuple[str, object]]:
    if not isinstance(raw, dict) or not raw:
        error(path, "Give an object of column to value, with at least one column.")
        return []
    pairs = []
    for column, value in raw.items():
        if column not in table.columns:
            error(f"{path}.{column}", f"{table.name} has no column {column} in the map.")
        else:
            pairs.append((column, value))
    return pairs


def _set_values(path, raw, table, error) -> tuple:
    pairs = _columns(path, raw, table, error)
    for column, value in pairs:
        if message := value_error(table.columns[column], value):
            error(f"{path}.{column}", message)
    return tuple(pairs)


def _insert_values(path, raw, action, table, error) -> tuple:
    sources = (*KEY_SOURCES, *((PURPOSE,) if action == RESTRICT else ()))
    values = []
    for column, source in _columns(path, raw, table, error):
        if isinstance(source, dict) and set(source) == {"value"}:
            if message := value_error(table.columns[column], source["value"]):
                error(f"{path}.{column}", message)
            values.append((column, Fixed(source["value"])))
        elif source in sources:
            values.append((column, source))
        else:
            error(f"{path}.{column}", f'Give one of {", ".join(sources)} or {{"value": ...}}.')
    if values and not any(isinstance(s, str) and s in KEY_SOURCES for _, s in values):
        error(path, "Give at least one column the subject's key fills (email, phone, account_id).")
    return tuple(values)


def value_error(column, value) -> str:
    """A message when ``value`` cannot go into ``column`` (as the map types it); else ""."""
    family = column.type_family
    if value is None:
        return "" if column.nullable else "This column is NOT NULL: give a value."
    if family == "text" and not isinstance(value, str):
        return "This is a text column: give the value as text."
    if family == "integer" and not isinstance(value, int):  # a bool is a tinyint(1)
        return f"A {column.type} column takes a whole number."
    if family == "number" and not isinstance(value, int | float):
        return f"A {column.type} column takes a number."
    if family == "other" and "bool" in column.type.lower() and not isinstance(value, bool):
        return f"A {column.type} column takes true or false."
    if not isinstance(value, str | int | float | bool):
        return "Give text, a number, true or false."
    if isinstance(value, str) and column.length is not None and len(value) > column.length:
        return f"The value is longer than {column.type} holds."
    return ""


# --- applying ------------------------------------------------------------------------------


def apply(queries, conn: sa.Connection, rules: tuple, *, purposes: list[str] = ()) -> dict:
    """Run ``rules`` for the subject ``queries`` was made for, in ``conn``'s transaction.

    Returns counts: rows changed, added and removed; a repeat of the same work counts 0."""
    counts = {"updated": 0, "inserted": 0, "deleted": 0}
    for rule in rules:
        if not rule.applies_to(purposes):
            continue
        if rule.how == "insert":
            counts["inserted"] += _insert(queries, conn, rule, purposes)
            continue
        where = queries.where(rule.table)
        if where is None:  # the task carries no key that reaches this table
            continue
        table = queries.table(rule.table)
        if rule.purpose_column:
            if not purposes:
                continue
            where = sa.and_(where, table.c[rule.purpose_column].in_(list(purposes)))
        if rule.how == "delete":
            counts["deleted"] += max(conn.execute(sa.delete(table).where(where)).rowcount, 0)
            continue
        differs = sa.or_(*(_differs(table.c[c], v) for c, v in rule.values))
        statement = sa.update(table).where(where, differs).values(dict(rule.values))
        counts["updated"] += max(conn.execute(statement).rowcount, 0)
    return counts


def _differs(column, value):
    if value is None:
        return column.is_not(None)
    return sa.or_(column.is_(None), column != value)


def _insert(queries, conn: sa.Connection, rule: Rule, purposes) -> int:
    keys = {kind: values[0] for kind, values in queries.values.items()}
    sources = {s for _, s in rule.values if isinstance(s, str)}
    if any(kind in sources and kind not in keys for kind in KEY_SOURCES):
        return 0  # the task carries no such key: nothing of the subject to add
    per_purpose = PURPOSE in sources
    if per_purpose and not purposes:
        return 0
    table, added = queries.table(rule.table), 0
    for purpose in purposes if per_purpose else [None]:
        row = {
            column: (source.value if isinstance(source, Fixed)
                     else purpose if source == PURPOSE else keys[source])
            for column, source in rule.values
        }  # fmt: skip
        equal = sa.and_(*(table.c[c] == v if v is not None else table.c[c].is_(None)
                          for c, v in row.items()))  # fmt: skip
        if conn.execute(sa.select(sa.literal(1)).select_from(table).where(equal)).first():
            continue
        conn.execute(sa.insert(table).values(row))
        added += 1
    return added
