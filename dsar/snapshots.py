"""Per-process copies of small tables that staff edit now and then and that every intake or
verification reads: the company's branding, the calendar overrides, the response policies.

Each table has a version stamp in the shared cache (Redis in production). A change to the
table gives it a new stamp when its transaction commits; a process keeps its copy while the
stamp it read with is still the current one, so every process sees an edit from its commit
on, and one round trip to the cache replaces the queries: the stamps of every table are read
together, once per HTTP request (a web request that reads a table twice, e.g. for two emails,
or three tables, checks the stamps once; outside a web request, once per read). Within
the transaction that changed the table, that process reads the table itself (its edit is
not committed, and may yet be rolled back); so does every process while the cache cannot
be reached.

Only changes through the models' ``save()`` and ``delete()`` (the admin, the services) give a
new stamp; a bulk ``update()`` or raw SQL must call :meth:`Snapshot.changed` itself.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis.exceptions
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_redis.exceptions import ConnectionInterrupted

from dsar import calls

log = logging.getLogger(__name__)

_per_call = threading.local()  # ``stamps``: (the HTTP call they were read for, the stamps)

UNREACHABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionInterrupted,
)
REGISTERED: list[Snapshot] = []


class Snapshot:
    """``get()`` answers what ``read()`` would, from this process's copy while it is current."""

    def __init__(self, name: str, read: Callable[[], Any], *, models: tuple = ()):
        self.name = name
        self._read = read
        self._key = f"dsar:snapshot:{name}"
        self._local = threading.local()  # a copy per thread: no lock, no torn reads
        for model in models:
            post_save.connect(self._on_change, sender=model, weak=False)
            post_delete.connect(self._on_change, sender=model, weak=False)
        REGISTERED.append(self)

    def get(self):
        if self._changed_in_open_transaction():
            return self._read()
        mark = calls.current()
        held = getattr(self._local, "held", None)  # (stamp, value, the call that checked it)
        if held is not None and mark is not None and held[2] is mark:
            return held[1]
        try:
            stamp = _stamps(mark, self._key)
        except UNREACHABLE:
            return self._read()
        if held is not None and held[0] == stamp:
            self._local.held = (stamp, held[1], mark)
            return held[1]
        # The stamp is read before the table: an edit committed in between gives a new stamp,
        # so a copy of the old rows is never kept under the new one.
        value = self._read()
        self._local.held = (stamp, value, mark)
        return value

    def changed(self) -> None:
        """The table changed in the current transaction: new stamp when it commits."""
        self._local.held = None
        connection = transaction.get_connection()
        if connection.in_atomic_block:
            self._local.changed_in = connection.atomic_blocks[0]
        transaction.on_commit(self.renew)

    def renew(self) -> None:
        """Give the table a new stamp now: every process reads it again."""
        _per_call.stamps = None
        try:
            cache.set(self._key, uuid.uuid4().hex, timeout=None)
        except UNREACHABLE:
            log.warning("snapshot %s: the cache is unreachable; copies stay until the next edit",
                        self.name)  # fmt: skip

    def _changed_in_open_transaction(self) -> bool:
        block = getattr(self._local, "changed_in", None)
        if block is None:
            return False
        if any(open_block is block for open_block in transaction.get_connection().atomic_blocks):
            return True
        self._local.changed_in = None
        return False

    def _on_change(self, **kwargs) -> None:
        self.changed()


def _stamps(mark, key: str) -> str:
    """The current stamp of ``key``'s table. The stamps of every table are read in one round
    trip and kept for the rest of the HTTP request ``mark`` (read again when there is none,
    or when a table registered since has none among them)."""
    held = getattr(_per_call, "stamps", None)
    if held is not None and mark is not None and held[0] is mark and key in held[1]:
        return held[1][key]
    keys = [snapshot._key for snapshot in REGISTERED]
    stamps = cache.get_many(keys)
    missing = [key for key in keys if key not in stamps]
    if missing:  # never stamped, or the cache was emptied: start new stamps
        for new in missing:
            cache.add(new, uuid.uuid4().hex, timeout=None)
        stamps |= cache.get_many(missing)
    _per_call.stamps = (mark, stamps)
    return stamps[key]


def renew_all() -> None:
    """Every table has changed (e.g. a test emptied the database): read each again."""
    for snapshot in REGISTERED:
        snapshot.renew()
