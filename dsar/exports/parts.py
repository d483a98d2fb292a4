"""One system's export answer, written to the export storage as it arrives.

A connector hands rows to a :class:`PartWriter` in batches; the writer drops the excluded
fields (keeping their names), and every ``DSAR_EXPORT_CHUNK_ROWS`` rows seals one chunk of
JSON Lines (``sealed``). What it learns on the way — each table's columns and row count, its
first rows for the index page, which chunks hold which table — goes in a sealed manifest
written last. Nothing holds more than one chunk of rows.

Files live under ``parts/<task id>/<attempt>/``: an attempt that fails or crashes leaves
nothing another attempt reads, and the part is adopted (``ExportPart``) only once its task is
recorded done.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings

from dsar.exports import sealed

TABLE_KEY = "table"
MANIFEST = "manifest.enc"


def prefix_for(task_id, attempt: int) -> str:
    return f"parts/{task_id}/{attempt}"


def chunk_name(prefix: str, index: int) -> str:
    return f"{prefix}/{index:06d}.jsonl.enc"


@dataclass
class TableSummary:
    name: str  # "" for rows that name no table
    columns: list[str] = field(default_factory=list)
    count: int = 0
    first_rows: list[dict] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)  # the chunks holding its rows

    def as_data(self) -> dict:
        return {"name": self.name, "columns": self.columns, "count": self.count,
                "first_rows": self.first_rows, "chunks": self.chunks}  # fmt: skip


class PartWriter:
    """Writes one attempt's export rows; ``finish`` seals the manifest."""

    def __init__(self, *, prefix: str, excluded_fields: frozenset[str]):
        self.prefix = prefix
        self.excluded_fields = excluded_fields
        self.tables: dict[str, TableSummary] = {}
        self.dropped: set[str] = set()
        self.chunks = 0
        self.rows = 0
        self._lines: list[str] = []
        self._chunk_tables: set[str] = set()
        self._limit = settings.DSAR_EXPORT_CHUNK_ROWS
        self._preview = settings.DSAR_EXPORT_PREVIEW_ROWS

    def write(self, rows: Iterable[dict]) -> None:
        for row in rows:
            keep = {k: v for k, v in row.items() if k.lower() not in self.excluded_fields}
            if len(keep) != len(row):
                self.dropped |= set(row) - set(keep)
            name = str(keep.pop(TABLE_KEY, "") or "")
            table = self.tables.get(name)
            if table is None:
                table = self.tables[name] = TableSummary(name=name)
            for column in keep:
                if column not in table.columns:
                    table.columns.append(column)
            table.count += 1
            if len(table.first_rows) < self._preview:
                table.first_rows.append(json.loads(json.dumps(keep, default=str)))
            if name not in self._chunk_tables:
                self._chunk_tables.add(name)
                table.chunks.append(self.chunks)
            self._lines.append(
                json.dumps({TABLE_KEY: name, "row": keep}, ensure_ascii=False, default=str)
            )
            self.rows += 1
            if len(self._lines) >= self._limit:
                self._flush()

    def _flush(self) -> None:
        if not self._lines:
            return
        data = ("\n".join(self._lines) + "\n").encode()
        sealed.seal_bytes(chunk_name(self.prefix, self.chunks), data)
        self.chunks += 1
        self._lines = []
        self._chunk_tables = set()

    def finish(self) -> dict:
        """Seal the last chunk and the manifest; the manifest's data."""
        self._flush()
        manifest = self.manifest()
        sealed.seal_bytes(f"{self.prefix}/{MANIFEST}", json.dumps(manifest).encode())
        return manifest

    def manifest(self) -> dict:
        return {
            "chunks": self.chunks,
            "rows": self.rows,
            "excluded": sorted(self.dropped),
            "tables": [t.as_data() for t in self.tables.values()],
        }


def read_manifest(prefix: str) -> dict | None:
    """The manifest an attempt wrote, or None if it never finished."""
    name = f"{prefix}/{MANIFEST}"
    if not sealed.storage().exists(name):
        return None
    return json.loads(sealed.open_bytes(name))


def table_rows(prefix: str, table: str, chunks: list[int]) -> Iterator[dict]:
    """Every row of ``table`` in the part, chunk by chunk (one chunk in memory at a time)."""
    for index in chunks:
        for line in sealed.open_bytes(chunk_name(prefix, index)).splitlines():
            entry = json.loads(line)
            if entry[TABLE_KEY] == table:
                yield entry["row"]


def delete_files(prefix: str) -> None:
    """Remove an attempt's chunks and manifest from the storage (any backend), finished or
    not: chunks are numbered from 0, so the first missing one ends them."""
    store, index = sealed.storage(), 0
    while store.exists(name := chunk_name(prefix, index)):
        store.delete(name)
        index += 1
    store.delete(f"{prefix}/{MANIFEST}")
