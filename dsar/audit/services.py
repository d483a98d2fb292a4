"""Writing to the audit trail. Every state change in the product calls ``record_event``."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsar.audit.chain import event_digest, event_fields
from dsar.audit.models import ActorKind, AuditEvent, ChainHead

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


def _locked_head() -> ChainHead:
    try:
        return ChainHead.objects.select_for_update().get(pk=1)
    except ChainHead.DoesNotExist:
        # A migration creates the head; an emptied database (a test flush) gets it back here.
        ChainHead.objects.bulk_create([ChainHead(pk=1)], ignore_conflicts=True)
        return ChainHead.objects.select_for_update().get(pk=1)


def record_event(
    *,
    action: str,
    actor: Actor,
    request_id=None,
    from_status: str = "",
    to_status: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    Appends are serialised by a row lock on the chain head, held until the caller's
    transaction ends, so the chain has no gaps or forks and the event commits or rolls back
    together with the change it describes.
    """
    [event] = record_events(
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
    return event


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
    """Append several events in order under one lock of the chain head, in one INSERT.

    For work that records many events together (a batch of downstream results): the head
    lock is taken once, not once per event.
    """
    if not events:
        return []
    for event in events:
        _check_payload(event.payload)
    # No savepoint inside the caller's transaction: an append that fails fails the caller's
    # change too, and the two round trips it would cost are most of an append's price.
    with transaction.atomic(savepoint=False):
        head = _locked_head()
        seq, prev = head.last_seq, head.last_hash
        occurred_at = timezone.now()
        rows = []
        for event in events:
            seq += 1
            fields = event_fields(
                seq=seq,
                occurred_at=occurred_at,
                actor_kind=event.actor.kind,
                actor_id=event.actor.id,
                action=event.action,
                request_id=event.request_id,
                from_status=event.from_status,
                to_status=event.to_status,
                payload=event.payload,
            )
            digest = event_digest(key=settings.DSAR_AUDIT_KEY, prev_hash=prev, fields=fields)
            rows.append(
                AuditEvent(
                    seq=seq,
                    occurred_at=occurred_at,
                    actor_kind=event.actor.kind,
                    actor_id=event.actor.id,
                    action=event.action,
                    request_id=event.request_id,
                    from_status=event.from_status,
                    to_status=event.to_status,
                    payload=event.payload,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        AuditEvent.objects.bulk_create(rows)
        head.last_seq, head.last_hash = seq, prev
        head.save(update_fields=["last_seq", "last_hash"])
    return rows
