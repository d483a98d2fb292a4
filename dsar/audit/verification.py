"""Checking the trail end to end (``python manage.py verify_audit``)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count

from dsar.audit.chain import GENESIS_HASH, legacy_digest, link_hash, own_digest, own_fields
from dsar.audit.models import AuditEvent, ChainHead

CHANGED = "its contents were changed after it was written"


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """What :func:`check_trail` found."""

    sequenced: int
    awaiting: int  # committed events that have no place in the chain yet
    broken: ChainBreak | None = None  # the first break of the sequenced chain
    # Ids of events awaiting the sequencer whose own digest does not match their fields.
    edited_awaiting: list[int] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken is None and not self.edited_awaiting


def _fields(event: AuditEvent) -> dict:
    return own_fields(
        uid=event.uid,
        occurred_at=event.occurred_at,
        actor_kind=event.actor_kind,
        actor_id=event.actor_id,
        action=event.action,
        request_id=event.request_id,
        from_status=event.from_status,
        to_status=event.to_status,
        payload=event.payload,
    )


def _digest_matches(event: AuditEvent) -> bool:
    return own_digest(key=settings.DSAR_AUDIT_KEY, fields=_fields(event)) == event.digest


def _walk(chunk_size: int) -> tuple[ChainBreak | None, int, int, str]:
    """Walk the sequenced events in order: (first break, events walked, last seq, last link)."""
    key = settings.DSAR_AUDIT_KEY
    expected_prev, expected_seq, walked, legacy_allowed = GENESIS_HASH, 1, 0, True
    events = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for event in events.iterator(chunk_size=chunk_size):
        walked += 1
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event #{expected_seq} is missing"), walked, 0, ""
        if event.prev_hash != expected_prev:
            return ChainBreak(event.seq, "does not link to the event before it"), walked, 0, ""
        if not event.digest and legacy_allowed and event.uid is None:
            # Written before the sequencer: one digest over the link and the fields.
            expected = legacy_digest(
                key=key, prev_hash=event.prev_hash, fields=_fields(event), seq=event.seq
            )
            if expected != event.hash:
                return ChainBreak(event.seq, CHANGED), walked, 0, ""
        else:
            legacy_allowed = False  # the earlier scheme only comes before the first new event
            if not _digest_matches(event):
                return ChainBreak(event.seq, CHANGED), walked, 0, ""
            expected = link_hash(
                key=key, prev_hash=event.prev_hash, seq=event.seq, digest=event.digest
            )
            if expected != event.hash:
                return ChainBreak(event.seq, "its place in the chain was changed"), walked, 0, ""
        expected_prev, expected_seq = event.hash, event.seq + 1
    return None, walked, expected_seq - 1, expected_prev


def check_trail(*, chunk_size: int = 2000) -> ChainReport:
    """Verify every event: the sequenced chain in order, then the events awaiting a place.

    Detects an edited event, sequenced or not (its own digest no longer matches), a deleted
    sequenced one (a gap in the places or a broken link), a reordered pair (links cover the
    place), a copied event (its uid repeats, or its digest breaks) and a deleted tail (the
    chain head remembers the last place). An event awaiting the sequencer that is deleted
    outright leaves no trace: see docs/architecture.md, "The audit trail".
    """
    broken, walked, last_seq, last_hash = _walk(chunk_size)
    head = ChainHead.objects.filter(pk=1).first()
    if broken is None:
        if head is None and walked:
            broken = ChainBreak(last_seq, "the chain head was removed")
        elif head is not None and (head.last_seq, head.last_hash) != (last_seq, last_hash):
            broken = ChainBreak(last_seq + 1, "events after this point were removed")
    if broken is None:
        repeated = (
            AuditEvent.objects.filter(uid__isnull=False)
            .values("uid")
            .annotate(copies=Count("id"))
            .filter(copies__gt=1)
            .values_list("uid", flat=True)[:1]
        )
        copy = AuditEvent.objects.filter(uid__in=list(repeated)).in_order().last()
        if copy is not None:
            broken = ChainBreak(copy.seq or 0, "it is a copy of an earlier event")
    awaiting, edited = 0, []
    for event in AuditEvent.objects.filter(seq__isnull=True).order_by("id").iterator(chunk_size):
        awaiting += 1
        if not _digest_matches(event):
            edited.append(event.pk)
    return ChainReport(sequenced=walked, awaiting=awaiting, broken=broken, edited_awaiting=edited)


def find_first_break(*, chunk_size: int = 2000) -> ChainBreak | None:
    """The first break of the sequenced chain, or None (see :func:`check_trail`)."""
    return check_trail(chunk_size=chunk_size).broken
