"""The append-only, hash-chained audit trail.

A writer only inserts its event, with the HMAC of the event's own fields (``digest``); the
sequencer (``dsar/audit/sequencer.py``) later gives committed events their place (``seq``)
and link (``hash``, over the previous link, the place and the digest), so editing an event
breaks its digest and deleting or reordering sequenced ones breaks the chain; ``verify_audit``
finds both. The ORM refuses to update or delete events; the sequencer's writing of the chain
columns is the one exception (:func:`write_links`). The digests catch what the ORM cannot stop
(raw SQL, a restored dump).
"""

import uuid

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    def in_order(self):
        """The order events happened in: sequenced ones by place, then the ones still awaiting
        the sequencer in the order they were written (the order the sequencer will keep)."""
        return self.order_by(*CHAIN_ORDER)

    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only; they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")

    # bulk_update would bypass save(); refuse it too.
    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Audit events are append-only; they cannot be updated.")


class ActorKind(models.TextChoices):
    SUBJECT = "subject", _("Data subject")
    STAFF = "staff", _("Staff member")
    SYSTEM = "system", _("System")
    DOWNSTREAM = "downstream", _("Downstream system")


# Sequenced events by place, then the rest by id: the order the sequencer gives them.
CHAIN_ORDER = (F("seq").asc(nulls_last=True), "id")


class AuditEvent(models.Model):
    # Null until the sequencer gives the event its place; then 1, 2, 3, … without gaps.
    seq = models.BigIntegerField(unique=True, null=True, blank=True, editable=False)
    # Makes every event distinct, so that a copied row cannot pass for a second event.
    # Null only on events written before the sequencer existed (their digest is empty).
    uid = models.UUIDField(unique=True, null=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField(editable=False)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices, editable=False)
    actor_id = models.CharField(max_length=64, blank=True, editable=False)
    action = models.CharField(max_length=64, editable=False)
    # A plain UUID, not a foreign key: the trail outlives anonymised or removed requests and
    # the audit part depends on nothing above it.
    request_id = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    from_status = models.CharField(max_length=32, blank=True, editable=False)
    to_status = models.CharField(max_length=32, blank=True, editable=False)
    payload = models.JSONField(default=dict, blank=True, editable=False)
    # HMAC of the event's own fields, written with it; empty on events of the earlier scheme.
    digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Written by the sequencer: the previous event's link and this event's.
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = CHAIN_ORDER
        indexes = [
            # What the sequencer looks for: committed events without a place yet.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_unsequenced")
        ]

    def __str__(self):
        return f"#{self.seq} {self.action}" if self.seq else f"(unsequenced) {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")


def write_links(links: list[tuple[int, int, str, str]]) -> int:
    """The sequencer's one way to change events: give rows ``(id, seq, prev_hash, hash)`` their
    place and link, in one UPDATE, only where the row has no place yet. Returns the rows written.

    Used by ``dsar/audit/sequencer.py`` under the chain head's lock; nothing else writes here.
    """
    if not links:
        return 0
    ids = [link[0] for link in links]

    def case(position, field):
        whens = [When(pk=link[0], then=Value(link[position])) for link in links]
        return Case(*whens, output_field=field)

    plain = models.QuerySet(model=AuditEvent)  # the plain queryset, without the refusals
    return plain.filter(pk__in=ids, seq__isnull=True).update(
        seq=case(1, models.BigIntegerField()),
        prev_hash=case(2, models.CharField()),
        hash=case(3, models.CharField()),
    )


class ChainHead(models.Model):
    """The single row the sequencer moves: the last place given and its link.

    Its row lock lets one sequencer run at a time; keeping the head separately also makes
    deleting the newest sequenced events detectable.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit chain head at #{self.last_seq}"
