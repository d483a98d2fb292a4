"""Writing to the audit trail. Every state change in the product calls ``record_event``."""

import functools
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, models, transaction
from django.utils import timezone

from dsar.audit.chain import own_digest, own_fields
from dsar.audit.models import ActorKind, AuditEvent
from dsar.gathering import Gathering

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


_EVENTS = Gathering("appended_together", lambda events: record_events(events))


def appended_together():
    """Inside a transaction: the events recorded in this block are appended when it ends,
    in one INSERT (a transition and its effects cost one statement, not one each).

    Nested blocks join the outermost one. If the block raises, its events are dropped with
    the rollback.
    """
    return _EVENTS.together()


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
    if _EVENTS.add(events):
        return []
    return AuditEvent.objects.bulk_create([AuditEvent(**row) for row in _rows(events)])


def insert_with_events(instance: models.Model, events: list[Event]) -> None:
    """Insert the new ``instance`` and ``events`` about it together.

    Outside a transaction on PostgreSQL they are one statement (a data-modifying ``WITH``),
    committed on its own: one round trip, no BEGIN or COMMIT of their own. Like
    ``bulk_create``, that insert sends no ``pre_save``/``post_save`` signals, so it is for
    models nothing listens to. In a transaction (or on SQLite) the instance is saved and the
    events recorded as ``record_events`` does, joining :func:`appended_together`.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block or connection.vendor != "postgresql":
        with transaction.atomic(savepoint=False):
            instance.save(force_insert=True)
            record_events(events)
        return
    insert = _insert_of(type(instance), connection.alias)
    # As Model.save() prepares them: auto_now fields are set on the instance too.
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in insert.fields
    ]
    events_sql, events_params = insert_sql(events, when="EXISTS (SELECT 1 FROM inserted)")
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH inserted AS ({insert.into} VALUES ({placeholders}) RETURNING 1) {events_sql}",
            (*values, *events_params),
        )
    instance._state.adding, instance._state.db = False, connection.alias


def insert_sql(events: list[Event], *, when: str) -> tuple[str, tuple]:
    """The SQL and parameters of an append of ``events`` that inserts them only if the SQL
    condition ``when`` holds, for a caller that runs it inside one statement with the change
    the events describe (``insert_with_events``: "the row was inserted"), so they
    commit together without a transaction of their own. Each row is built and signed as
    :func:`record_events` builds it; nothing runs here."""
    connection = transaction.get_connection()
    insert = _insert_of(AuditEvent, connection.alias)
    params = [value for row in _prepared(events, insert, connection) for value in row]
    values = ", ".join(f"({insert.casts})" for _ in events)
    # Table, columns and casts from the model; the values are parameters.
    sql = f"{insert.into} SELECT * FROM (VALUES {values}) AS appended"  # noqa: S608
    return f"{sql} WHERE {when}", tuple(params)


@dataclass(frozen=True)
class _Insert:
    fields: list  # the columns an insert of a new row writes, in order
    into: str  # INSERT INTO "table" ("column", …)
    casts: str  # a placeholder per column, cast to its type: %s::uuid, …
    columns: str  # "column", … as in ``into``


@functools.cache
def _insert_of(model: type[models.Model], alias: str) -> _Insert:
    """How a row of ``model`` is inserted on the database ``alias``: worked out once, as it
    depends on nothing but the model. Every stored column but a serial key (the database's
    to give), as ``Model.save()`` inserts a new row."""
    connection = connections[alias]
    meta = model._meta
    fields = [
        field
        for field in meta.local_concrete_fields
        if not field.generated and field is not meta.auto_field
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(meta.db_table)
    casts = ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
    return _Insert(fields, f"INSERT INTO {table} ({columns})", casts, columns)  # noqa: S608


def insert_among_sql(
    keyed: list[tuple[object, Event]], *, key_type: str, among: str
) -> tuple[str, tuple]:
    """The SQL and parameters of an append of events each tied to a key (``(key, event)``;
    ``key_type`` its SQL type), inserting only those whose key is among the values the SQL
    ``among`` selects, for a caller that runs it inside one statement with the changes the
    events describe (``fanout.outcomes``: "the rows the outcomes' UPDATE moved"). Each row is
    built and signed as :func:`record_events` builds it; nothing runs here."""
    events = [event for _, event in keyed]
    connection = transaction.get_connection()
    insert = _insert_of(AuditEvent, connection.alias)
    rows = _prepared(events, insert, connection)
    params = [value for (key, _), row in zip(keyed, rows, strict=True) for value in (key, *row)]
    key = connection.ops.quote_name("appended_key")
    values = ", ".join(f"(%s::{key_type}, {insert.casts})" for _ in events)
    # Table, columns and casts from the model; the values are parameters.
    sql = (
        f"{insert.into} SELECT {insert.columns} "  # noqa: S608
        f"FROM (VALUES {values}) AS appended({key}, {insert.columns}) WHERE {key} IN ({among})"
    )
    return sql, tuple(params)


def _prepared(events: list[Event], insert: _Insert, connection) -> list[list]:
    """Each event's row as the database takes it, in ``insert``'s column order (checked and
    signed as :func:`record_events` does; the columns an append leaves to the sequencer get
    their defaults)."""
    for event in events:
        _check_payload(event.payload)
    return [
        [
            field.get_db_prep_save(row.get(field.attname, field.get_default()), connection)
            for field in insert.fields
        ]
        for row in _rows(events)
    ]


def _rows(events: list[Event]) -> list[dict]:
    """The events' columns, each row with the HMAC of its own fields (its place in the chain
    comes from the sequencer)."""
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
        columns["digest"] = own_digest(key=settings.DSAR_AUDIT_KEY, fields=own_fields(**columns))
        rows.append(columns)
    return rows
