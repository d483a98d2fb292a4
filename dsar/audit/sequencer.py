"""The one writer of the chain: gives committed events their place and link, in batches.

Writers only insert their events (``services.record_events``), so no writer waits for
another's commit. :func:`sequence_events` then takes the committed events that have no place
yet, oldest id first, gives them the next places ``seq`` and links each to the one before
(``chain.link_hash``), moves the head and commits, ``BATCH_SIZE`` events per transaction.

One sequencer at a time: each batch locks the chain head's row (``SELECT … FOR UPDATE``; on
SQLite the database's single writer does the same). An event that becomes visible late (its
transaction committed after later ids were sequenced) still has no place, so a later run
gives it the next one: events are found by ``seq IS NULL``, never by "ids after the last".

Runs from beat every few seconds (``dsar.audit.tasks.sequence``), from ``verify_audit`` before
it verifies, and wherever code needs the chain complete.
"""

import logging

from django.conf import settings
from django.db import transaction

from dsar.audit.chain import link_hash
from dsar.audit.models import AuditEvent, ChainHead, write_links

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


class ChainHeadMissing(Exception):
    """The head row is gone while sequenced events exist: the sequencer will not start over."""


def _locked_head(*, wait: bool) -> ChainHead | None:
    """The head under its row lock; None if another sequencer holds it and ``wait`` is False."""
    head = ChainHead.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()
    if head is not None:
        return head
    if ChainHead.objects.filter(pk=1).exists():
        return None  # skipped: another sequencer holds it
    if AuditEvent.objects.filter(seq__isnull=False).exists():
        raise ChainHeadMissing("The audit chain head is missing; run verify_audit.")
    # A migration creates the head; an emptied database (a test flush) gets it back here.
    ChainHead.objects.bulk_create([ChainHead(pk=1)], ignore_conflicts=True)
    return ChainHead.objects.select_for_update().get(pk=1)


def _sequence_batch(*, wait: bool, batch_size: int) -> int | None:
    """One batch in one transaction; the number sequenced, or None if another sequencer runs."""
    with transaction.atomic():
        head = _locked_head(wait=wait)
        if head is None:
            return None
        pending = list(
            AuditEvent.objects.filter(seq__isnull=True)
            .order_by("id")
            .values_list("id", "digest")[:batch_size]
        )
        if not pending:
            return 0
        seq, prev, links = head.last_seq, head.last_hash, []
        for event_id, digest in pending:
            seq += 1
            link = link_hash(key=settings.DSAR_AUDIT_KEY, prev_hash=prev, seq=seq, digest=digest)
            links.append((event_id, seq, prev, link))
            prev = link
        written = write_links(links)
        if written != len(links):  # only this sequencer writes places, under the lock
            raise RuntimeError(f"Sequenced {written} of {len(links)} audit events; rolled back.")
        head.last_seq, head.last_hash = seq, prev
        head.save(update_fields=["last_seq", "last_hash"])
    # The head's place and link, for anchoring outside the database (no personal data).
    logger.info("audit chain: sequenced %d events, head #%d %s", len(links), seq, prev)
    return len(links)


def sequence_events(*, wait: bool = True, batch_size: int = BATCH_SIZE) -> int:
    """Sequence every committed event that has no place yet; return how many were sequenced.

    With ``wait`` False (beat) a run that finds another sequencer working returns at once; with
    ``wait`` True it waits for it and then sequences what is left, so that on return every
    event committed before the call has its place.
    """
    total = 0
    while True:
        done = _sequence_batch(wait=wait, batch_size=batch_size)
        if done is None:
            return total
        total += done
        if done < batch_size:
            return total


def awaiting_count() -> int:
    """Committed events that have no place in the chain yet."""
    return AuditEvent.objects.filter(seq__isnull=True).count()
