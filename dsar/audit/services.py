"""Writing to the audit trail. Every state change in the product calls ``record_event``."""

import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsar.audit.chain import own_digest, own_fields
from dsar.audit.models import ActorKind, AuditEvent

# Payload keys that would carry personal data. Events name requests by id and reference only.
FORBIDDEN_PAYLOAD_KEYS = frozenset(
    {"email", "phone", "full_name", "name", "account_id", "address", "code", "token", "password"}
)


@dataclass(frozen=True)
class Actor:
    """Who did something: a subject, a staff member (by user id), the system or a downstream."""

    kind: str
    id: str = ""

    @classmethod
    def subject(cls) -> "Actor":
        return cls(ActorKind.SUBJECT)

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(ActorKind.STAFF, str(user.pk))

    @classmethod
    def system(cls, name: str = "") -> "Actor":
        return cls(ActorKind.SYSTEM, name)


def _check_payload(payload: dict) -> None:
    leaked = FORBIDDEN_PAYLOAD_KEYS.intersection(payload)
    if leaked:
        raise ValueError(f"Audit payloads carry no personal data; remove {sorted(leaked)}.")


def record_event(
    *,
    action: str,
    actor: Actor,
    request_id=None,
    from_status: str = "",
    to_status: str = "",
    payload: dict | None = None,
) -> AuditEvent | None:
    """Append one event to the trail, inside the caller's transaction.

    The event is inserted with the HMAC of its own fields and no place in the chain; it
    commits or rolls back together with the change it describes, and takes no lock another
    writer waits for. The sequencer (``dsar/audit/sequencer.py``) gives it its place once it is
    committed. Inside :func:`appended_together` the event is inserted when that block ends,
    and None is returned.
    """
    events = record_events(
        [
            Event(
                action=action,
                actor=actor,
                request_id=request_id,
                from_status=from_status,
                to_status=to_status,
                payload=payload or {},
            )
        ]
    )
    return events[0] if events else None


_pending = threading.local()


@contextmanager
def appended_together():
    """Inside a transaction: the events recorded in this block are appended when it ends,
    in one INSERT (a transition and its effects cost one statement, not one each).

    Nested blocks join the outermost one. If the block raises, its events are dropped with
    the rollback.
    """
    pending = getattr(_pending, "events", None)
    if pending is not None:
        mark = len(pending)
        try:
            yield
        except BaseException:
            del pending[mark:]  # a nested block rolled back (savepoint): so do its events
            raise
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("appended_together() belongs inside transaction.atomic().")
    _pending.events = []
    try:
        yield
        events = _pending.events
    finally:
        _pending.events = None
    record_events(events)


@dataclass(frozen=True)
class Event:
    """One event to append with :func:`record_events`."""

    action: str
    actor: Actor
    request_id: object = None
    from_status: str = ""
    to_status: str = ""
    payload: dict = field(default_factory=dict)


def record_events(events: list[Event]) -> list[AuditEvent]:
    """Append several events in order, in one INSERT; the sequencer keeps their order."""
    if not events:
        return []
    for event in events:
        _check_payload(event.payload)
    if getattr(_pending, "events", None) is not None:
        _pending.events.extend(events)
        return []
    occurred_at = timezone.now()
    rows = []
    for event in events:
        columns = {
            "uid": uuid.uuid4(),
            "occurred_at": occurred_at,
            "actor_kind": event.actor.kind,
            "actor_id": event.actor.id,
            "action": event.action,
            "request_id": event.request_id,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "payload": event.payload,
        }
        digest = own_digest(key=settings.DSAR_AUDIT_KEY, fields=own_fields(**columns))
        rows.append(AuditEvent(**columns, digest=digest))
    return AuditEvent.objects.bulk_create(rows)
