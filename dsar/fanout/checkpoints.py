"""Where a large erasure records its progress: one entry per task, under its idempotency key,
in the cache (Redis). The ``sql`` connector's chunked erasure (``datamap.queries``) saves
each committed chunk here, so an attempt that follows a crashed one resumes after the last
chunk recorded instead of starting again. The entry holds table names, counts and the last
key value a keyed-hash mask reached (a row id), never personal data; it expires after
``TTL`` (a task not retried by then starts again, which a delete does without harm).
"""

from __future__ import annotations

from django.core.cache import cache

TTL = 30 * 24 * 3600


class CacheCheckpoint:
    def __init__(self, idempotency_key: str):
        self.key = f"dsar:erase-progress:{idempotency_key}"

    def load(self) -> dict:
        return cache.get(self.key) or {}

    def save(self, state: dict) -> None:
        cache.set(self.key, state, timeout=TTL)

    def clear(self) -> None:
        cache.delete(self.key)
