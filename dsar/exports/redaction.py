"""The redaction rules of one request's package: what staff withheld, applied to each row.

``rules_for(request).apply(system, table, row)`` is called once per row by the package
builder; it returns the row without the withheld fields, or None when the whole row is
withheld. A row is named by ``row_digest`` — the keyed hash of its content as the system sent
it — so a package built again (a fresh link) withholds exactly the same rows, and the
database holds no copy of what was withheld.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from dsar.crypto.keys import keyed_hash
from dsar.exports.models import Redaction
from dsar.exports.package import TABLE_KEY


def row_digest(row: dict) -> str:
    """The name of a row: the keyed hash of its canonical JSON (keys sorted)."""
    canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return keyed_hash("export-row:" + canonical)


def table_of(row: dict) -> str:
    return str(row.get(TABLE_KEY, ""))


@dataclass
class Rules:
    # (system, table) → row digest ("" for every row) → withheld fields ("" for the row)
    by_table: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)

    def apply(self, system: str, table: str, row: dict) -> dict | None:
        """``row`` as the subject gets it: None if withheld whole, else without the withheld
        fields (a field withheld in every row of the table, or in this row)."""
        rules = self.by_table.get((system, table))
        if not rules:
            return row
        withheld = set(rules.get("", set()))
        own = rules.get(row_digest(row))
        if own is not None:
            if "" in own:
                return None
            withheld |= own
        return {k: v for k, v in row.items() if k not in withheld} if withheld else row

    @property
    def empty(self) -> bool:
        return not self.by_table


def rules_for(request) -> Rules:
    rules = Rules()
    for r in Redaction.objects.filter(request=request).only(
        "system", "table", "row_digest", "field"
    ):
        rows = rules.by_table.setdefault((r.system, r.table), {})
        rows.setdefault(r.row_digest, set()).add(r.field)
    return rules
