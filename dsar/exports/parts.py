"""One system's export answer, written to the export storage as it arrives.

A connector hands rows to a :class:`PartWriter` in batches; the writer drops the excluded
fields (keeping their names), and every ``DSAR_EXPORT_CHUNK_ROWS`` rows of a table seals one
chunk of JSON Lines (``sealed``). What it learns on the way — each table's columns and row
count, its first rows for the index page, which chunks hold it — goes in a sealed manifest
written last. Nothing holds more than a chunk's worth of rows (two, for mixed tables).

Files live under ``parts/<task id>/<attempt>/``: an attempt that fails or crashes leaves
nothing another attempt reads, and the part is adopted (``ExportPart``) only once its task is
recorded done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

import orjson
from django.conf import settings

from dsar.exports import sealed
from dsar.exports.package import SystemData, Table

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
    """Writes one attempt's export rows; ``finish`` seals the manifest.

    Each chunk holds one table's rows, as JSON Lines: a table's rows are buffered until
    ``DSAR_EXPORT_CHUNK_ROWS`` of them fill a chunk (or, with rows of many tables arriving
    mixed, until that many rows are buffered in all: then every buffer is written)."""

    def __init__(self, *, prefix: str, excluded_fields: frozenset[str]):
        self.prefix = prefix
        self.excluded_fields = excluded_fields
        self.tables: dict[str, TableSummary] = {}
        self.dropped: set[str] = set()
        self.chunks = 0
        self.rows = 0
        self._buffers: dict[str, list[bytes]] = {}
        self._buffered = 0
        self._plans: dict[tuple, tuple[list[str], str]] = {}
        self._limit = settings.DSAR_EXPORT_CHUNK_ROWS
        self._preview = settings.DSAR_EXPORT_PREVIEW_ROWS

    def write(self, rows: Iterable[dict]) -> None:
        """Take a batch of rows (dicts the writer may change: the connector's own)."""
        tables, buffers, plans = self.tables, self._buffers, self._plans
        for row in rows:
            # What to keep of a row with these keys: worked out once per shape of row.
            shape = tuple(row)
            plan = plans.get(shape)
            if plan is None:
                plan = plans[shape] = self._plan(row)
            kept, name = plan
            if kept is None:  # nothing left out: the row itself, without its table's name
                keep = row
                keep.pop(TABLE_KEY, None)
            else:
                keep = {k: row[k] for k in kept}
            table = tables[name]
            line = dumps(keep)
            table.count += 1
            if len(table.first_rows) < self._preview:
                table.first_rows.append(orjson.loads(line))
            buffer = buffers[name]
            buffer.append(line)
            self.rows += 1
            self._buffered += 1
            if len(buffer) >= self._limit:
                self._flush(name)
            elif self._buffered >= 2 * self._limit:
                for other in list(buffers):
                    self._flush(other)

    def _plan(self, row: dict) -> tuple[list[str] | None, str]:
        """For rows shaped like ``row``: the keys kept (None: all of them; excluded ones are
        recorded as dropped) and the table they belong to, which learns any new columns."""
        fields = [k for k in row if k != TABLE_KEY]
        kept = [k for k in fields if k.lower() not in self.excluded_fields]
        self.dropped |= set(fields) - set(kept)
        name = str(row.get(TABLE_KEY) or "")
        if name not in self.tables:
            self.tables[name] = TableSummary(name=name)
            self._buffers[name] = []
        table = self.tables[name]
        table.columns += [k for k in kept if k not in table.columns]
        return (None if kept == fields else kept), name

    def _flush(self, name: str) -> None:
        lines = self._buffers[name]
        if not lines:
            return
        sealed.seal_bytes(chunk_name(self.prefix, self.chunks), b"\n".join(lines) + b"\n")
        self.tables[name].chunks.append(self.chunks)
        self.chunks += 1
        self._buffered -= len(lines)
        self._buffers[name] = []

    def finish(self) -> dict:
        """Seal the last chunks and the manifest; the manifest's data."""
        for name in list(self._buffers):
            self._flush(name)
        manifest = self.manifest()
        sealed.seal_bytes(f"{self.prefix}/{MANIFEST}", dumps(manifest))
        return manifest

    def manifest(self) -> dict:
        return {
            "chunks": self.chunks,
            "rows": self.rows,
            "excluded": sorted(self.dropped),
            "tables": [t.as_data() for t in self.tables.values()],
        }


def dumps(value) -> bytes:
    """JSON as the parts and the package write it: UTF-8, dates in ISO 8601, anything else
    a driver returns (decimals, UUIDs) as its text."""
    return orjson.dumps(value, default=str)


def read_manifest(prefix: str) -> dict | None:
    """The manifest an attempt wrote, or None if it never finished."""
    name = f"{prefix}/{MANIFEST}"
    if not sealed.storage().exists(name):
        return None
    return orjson.loads(sealed.open_bytes(name))


def table_rows(prefix: str, chunks: list[int]) -> Iterator[dict]:
    """Every row of one table (its ``chunks``), chunk by chunk: one in memory at a time."""
    for index in chunks:
        for line in sealed.open_bytes(chunk_name(prefix, index)).splitlines():
            yield orjson.loads(line)


def delete_files(prefix: str) -> None:
    """Remove an attempt's chunks and manifest from the storage (any backend), finished or
    not: chunks are numbered from 0, so the first missing one ends them."""
    store, index = sealed.storage(), 0
    while store.exists(name := chunk_name(prefix, index)):
        store.delete(name)
        index += 1
    store.delete(f"{prefix}/{MANIFEST}")


def delete_attempts(task_id, attempts: int, *, keep: str = "") -> None:
    """Remove the files of every attempt of a task up to ``attempts`` but the one under
    ``keep``: an attempt whose worker was killed left its chunks behind, never adopted."""
    for attempt in range(attempts + 1):
        if (prefix := prefix_for(task_id, attempt)) != keep:
            delete_files(prefix)


def system_data(part) -> SystemData:
    """A stored ``ExportPart`` as the package reads it: its tables from the manifest, their
    rows streamed from the chunks when they are read."""
    manifest = read_manifest(part.prefix) or {"tables": [], "excluded": []}
    tables = [
        Table(name=t["name"], columns=t["columns"], count=t["count"], first_rows=t["first_rows"],
              rows=partial(table_rows, part.prefix, t["chunks"]))
        for t in manifest["tables"]
    ]  # fmt: skip
    system = part.task.system
    return SystemData(name=system.name, categories=list(system.categories or []),
                      excluded=part.excluded, tables=tables)  # fmt: skip
