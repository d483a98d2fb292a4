"""The append-only, hash-chained audit trail.

Each event carries the HMAC of its own fields and of the previous event's HMAC, so editing,
deleting or reordering any row breaks the chain from that row on; ``verify_audit`` finds the
first break. The ORM refuses to update or delete events; the chain catches what the ORM
cannot stop (raw SQL, a restored dump).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
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


class AuditEvent(models.Model):
    seq = models.BigIntegerField(unique=True, editable=False)
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
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["seq"]

    def __str__(self):
        return f"#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")


class ChainHead(models.Model):
    """The single row that serialises appends: its lock orders events, it holds the last hash.

    Keeping the head separately also makes deleting the newest events detectable.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit chain head at #{self.last_seq}"
