"""Writes gathered on a thread inside a block and made in one go when the block ends: the
audit events of a transition and its effects (``audit.services.appended_together``), an
intake's messages (``notifications.services.stored_together``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from django.db import transaction


class Gathering:
    """Items added inside ``together()`` are handed to ``write`` in one list when the
    outermost block ends, still inside its transaction. Nested blocks join the outermost one;
    a block that raises drops what it added (its savepoint rolled back)."""

    def __init__(self, name: str, write: Callable[[list], object]):
        self._name, self._write = name, write
        self._local = threading.local()  # ``items``: those of the open block, if any

    def add(self, items: Iterable) -> bool:
        """Gather ``items`` for the open block; False when none is open (write them now)."""
        pending = getattr(self._local, "items", None)
        if pending is None:
            return False
        pending.extend(items)
        return True

    @contextmanager
    def together(self):
        pending = getattr(self._local, "items", None)
        if pending is not None:
            mark = len(pending)
            try:
                yield
            except BaseException:
                del pending[mark:]
                raise
            return
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError(f"{self._name}() belongs inside transaction.atomic().")
        self._local.items = []
        try:
            yield
            items = self._local.items
        finally:
            self._local.items = None
        self._write(items)
