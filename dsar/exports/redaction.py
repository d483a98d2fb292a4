"""The redaction rules of one request's package: what staff withheld, applied to each row.

``rules_for(request).released(system)`` gives a system's tables as the subject gets them:
``apply(system, table, row)`` runs once per row as the package reads it and returns the row
without the withheld fields, or None when the whole row is withheld; the index page's first
rows, columns and counts follow. A row is named by ``row_digest`` — the keyed hash of its
content as stored for the package — so a package built again (a fresh link) withholds
exactly the same rows, and the database holds no copy of what was withheld.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from dsar.crypto.keys import keyed_hash
from dsar.exports.models import Redaction
from dsar.exports.package import TABLE_KEY, SystemData, Table


def row_digest(row: dict) -> str:
    """The name of a row: the keyed hash of its canonical JSON (keys sorted; the table it
    came from is named separately, so a ``"table"`` tag is left out)."""
    content = {k: v for k, v in row.items() if k != TABLE_KEY}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return keyed_hash("export-row:" + canonical)


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

    def kept(self, system: str, table: str, rows: Iterable[dict]) -> Iterator[dict]:
        for row in rows:
            if (shown := self.apply(system, table, row)) is not None:
                yield shown

    def released(self, system: SystemData) -> SystemData:
        """``system`` with each table as it goes out: rows through ``apply`` when they are
        read, the first rows shown on the index page likewise, a column withheld in every
        row gone from the headings, and the count of a table that lost whole rows counted
        again (one streamed pass, only then)."""
        return replace(system, tables=[self._table(system.name, t) for t in system.tables])

    def _table(self, system: str, table: Table) -> Table:
        rules = self.by_table.get((system, table.name))
        if not rules:
            return table
        gone = rules.get("", set())
        count = table.count
        if any("" in fields for digest, fields in rules.items() if digest):
            count = sum(1 for _row in self.kept(system, table.name, table.rows()))
        return replace(
            table,
            columns=[c for c in table.columns if c not in gone],
            count=count,
            first_rows=list(self.kept(system, table.name, table.first_rows)),
            rows=lambda: self.kept(system, table.name, table.rows()),
        )


def rules_for(request) -> Rules:
    rules = Rules()
    for r in Redaction.objects.filter(request=request).only(
        "system", "table", "row_digest", "field"
    ):
        rows = rules.by_table.setdefault((r.system, r.table), {})
        rows.setdefault(r.row_digest, set()).add(r.field)
    return rules
