"""Act on each idempotency key once: the product sends a request again after a timeout, a
lost answer or a staff retry, always with the same key.

A store remembers, per key, a fingerprint of the request (action, subject, changes), whether
the work is under way or answered, the answer, and for deferred work how it ended. Two
implementations: ``MemoryStore`` (one process, forgotten on restart: tests and demos) and
``SqliteStore`` (a file, shared by the threads and processes of one machine). Anything else
(PostgreSQL, Redis) implements the four methods of ``KeyStore``.
"""

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

# STARTED: being acted on; DEFERRED: answered 202, the work still running here; ANSWERED:
# the answer given (and for deferred work, how it ended).
STARTED, DEFERRED, ANSWERED = "started", "deferred", "answered"
UNFINISHED = (STARTED, DEFERRED)


@dataclass(frozen=True)
class Record:
    fingerprint: str
    state: str  # STARTED, DEFERRED or ANSWERED
    claimed_at: float
    status: int = 0  # the answer's HTTP status, once ANSWERED
    body: dict | None = None  # the answer's body, once ANSWERED
    outcome: str = ""  # deferred work: "done" or "failed" once it ended
    detail: str = ""


def fingerprint(request_fields: dict) -> str:
    """A digest of what must not change under one key (no personal data kept in the clear)."""
    canonical = json.dumps(request_fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class KeyStore(Protocol):
    def claim(self, key: str, fingerprint: str, *, now: float, lease: float) -> Record | None:
        """None when the key is ours to act on: never seen, or claimed more than ``lease``
        seconds ago by an attempt that never answered (it crashed). Otherwise the record, and
        we must not act. Two racing callers never both get None."""

    def answer(self, key: str, *, status: int, body: dict, deferred: bool = False) -> None:
        """Remember the answer given for ``key`` (``deferred``: a 202 whose work runs on)."""

    def settle(self, key: str, *, outcome: str, detail: str) -> None:
        """Remember how deferred work for ``key`` ended ("done" or "failed")."""

    def release(self, key: str) -> None:
        """Forget a claim whose attempt failed before acting, so the next attempt may act."""


class MemoryStore:
    """Keys in a dict of this process, behind a lock."""

    def __init__(self):
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()

    def claim(self, key, fingerprint, *, now, lease):
        with self._lock:
            held = self._records.get(key)
            if held is None or _abandoned(held, fingerprint, now=now, lease=lease):
                self._records[key] = Record(fingerprint, STARTED, now)
                return None
            return held

    def answer(self, key, *, status, body, deferred=False):
        state = DEFERRED if deferred else ANSWERED
        with self._lock:
            self._records[key] = replace(self._records[key], state=state, status=status,
                                         body=body)  # fmt: skip

    def settle(self, key, *, outcome, detail):
        with self._lock:
            self._records[key] = replace(self._records[key], state=ANSWERED, outcome=outcome,
                                         detail=detail)  # fmt: skip

    def release(self, key):
        with self._lock:
            self._records.pop(key, None)

    def get(self, key: str) -> Record | None:
        return self._records.get(key)


def _abandoned(held: Record, fingerprint: str, *, now: float, lease: float) -> bool:
    stale = now - held.claimed_at > lease
    return held.state in UNFINISHED and held.fingerprint == fingerprint and stale


class SqliteStore:
    """Keys in the table ``dsar_idempotency`` of a SQLite file (created if missing). Each
    call opens its own connection, so threads may share the store; a claim is one conditional
    write."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dsar_idempotency (key TEXT PRIMARY KEY, "
                "fingerprint TEXT NOT NULL, state TEXT NOT NULL, claimed_at REAL NOT NULL, "
                "status INTEGER NOT NULL DEFAULT 0, body TEXT, outcome TEXT NOT NULL DEFAULT "
                "'', detail TEXT NOT NULL DEFAULT '')"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a connection of its own, committed and closed."""
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def claim(self, key, fingerprint, *, now, lease):
        with self._connect() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO dsar_idempotency (key, fingerprint, state, claimed_at) "
                "VALUES (?, ?, ?, ?)", (key, fingerprint, STARTED, now),
            ).rowcount  # fmt: skip
            if inserted:
                return None
            taken_over = conn.execute(
                "UPDATE dsar_idempotency SET state = ?, claimed_at = ?, status = 0, body = NULL "
                "WHERE key = ? AND state IN (?, ?) AND fingerprint = ? AND claimed_at < ?",
                (STARTED, now, key, *UNFINISHED, fingerprint, now - lease),
            ).rowcount
            return None if taken_over else self._get(conn, key)

    def answer(self, key, *, status, body, deferred=False):
        with self._connect() as conn:
            conn.execute(
                "UPDATE dsar_idempotency SET state = ?, status = ?, body = ? WHERE key = ?",
                (DEFERRED if deferred else ANSWERED, status, json.dumps(body), key),
            )

    def settle(self, key, *, outcome, detail):
        with self._connect() as conn:
            conn.execute(
                "UPDATE dsar_idempotency SET state = ?, outcome = ?, detail = ? WHERE key = ?",
                (ANSWERED, outcome, detail, key),
            )

    def release(self, key):
        with self._connect() as conn:
            conn.execute("DELETE FROM dsar_idempotency WHERE key = ?", (key,))

    def get(self, key: str) -> Record | None:
        with self._connect() as conn:
            return self._get(conn, key)

    def _get(self, conn: sqlite3.Connection, key: str) -> Record | None:
        row = conn.execute(
            "SELECT fingerprint, state, claimed_at, status, body, outcome, detail FROM "
            "dsar_idempotency WHERE key = ?", (key,),
        ).fetchone()  # fmt: skip
        if row is None:
            return None
        body = json.loads(row[4]) if row[4] is not None else None
        return Record(row[0], row[1], row[2], row[3], body, row[5], row[6])
