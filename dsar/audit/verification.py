"""Checking the chain end to end (``python manage.py verify_audit``)."""

from dataclasses import dataclass

from django.conf import settings

from dsar.audit.chain import GENESIS_HASH, event_digest, event_fields
from dsar.audit.models import AuditEvent, ChainHead


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def find_first_break(*, chunk_size: int = 2000) -> ChainBreak | None:
    """Walk the chain in order; return the first event that does not verify, or None.

    Detects an edited event (its digest no longer matches), a deleted one (a gap in the
    sequence or a broken link), a reordered pair (digests cover the sequence number) and a
    deleted tail (the chain head remembers the last event).
    """
    expected_prev, expected_seq = GENESIS_HASH, 1
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return ChainBreak(event.seq, "does not link to the event before it")
        fields = event_fields(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            action=event.action,
            request_id=event.request_id,
            from_status=event.from_status,
            to_status=event.to_status,
            payload=event.payload,
        )
        digest = event_digest(key=settings.DSAR_AUDIT_KEY, prev_hash=event.prev_hash, fields=fields)
        if digest != event.hash:
            return ChainBreak(event.seq, "its contents were changed after it was written")
        expected_prev, expected_seq = event.hash, event.seq + 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq, head.last_hash) != (expected_seq - 1, expected_prev):
        return ChainBreak(expected_seq, "events after this point were removed")
    return None
