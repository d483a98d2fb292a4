"""Writing to the audit trail. Every state change in the product calls ``record_event``."""

from dataclasses import dataclass

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
    payload = payload or {}
    _check_payload(payload)
    with transaction.atomic():
        head = _locked_head()
        seq = head.last_seq + 1
        occurred_at = timezone.now()
        fields = event_fields(
            seq=seq,
            occurred_at=occurred_at,
            actor_kind=actor.kind,
            actor_id=actor.id,
            action=action,
            request_id=request_id,
            from_status=from_status,
            to_status=to_status,
            payload=payload,
        )
        digest = event_digest(key=settings.DSAR_AUDIT_KEY, prev_hash=head.last_hash, fields=fields)
        event = AuditEvent.objects.create(
            seq=seq,
            occurred_at=occurred_at,
            actor_kind=actor.kind,
            actor_id=actor.id,
            action=action,
            request_id=request_id,
            from_status=from_status,
            to_status=to_status,
            payload=payload,
            prev_hash=head.last_hash,
            hash=digest,
        )
        head.last_seq, head.last_hash = seq, digest
        head.save(update_fields=["last_seq", "last_hash"])
    return event
