"""Backup tasks that outlive their request: a deletion completes when the live systems are
done, and its ``backup`` tasks wait on, tracked, until the backups have rotated
(``ledger.release_backups`` finishes them and audits it)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, Max, OuterRef, Q

from dsar.fanout.connectors import ROTATION, kinds_finishing_by
from dsar.fanout.models import DeletionLedger, FanoutTask, TaskStatus


def backup_waiting() -> Q:
    """Tasks of a backup system waiting for the backups to rotate."""
    return Q(status=TaskStatus.WAITING, system__kind__in=kinds_finishing_by(ROTATION))


def backups_pending_exists() -> Exists:
    """For a queryset of requests: one of its backup tasks still waits for the rotation."""
    return Exists(FanoutTask.objects.filter(backup_waiting(), request=OuterRef("pk")))


def backups_rotate_by(request) -> dt.datetime | None:
    """When the last backup still holding the subject of ``request`` will have rotated out
    (None when no backup task of the request waits)."""
    keys = FanoutTask.objects.filter(backup_waiting(), request=request).values("idempotency_key")
    entries = DeletionLedger.objects.filter(idempotency_key__in=keys)
    return entries.aggregate(last=Max("releases_at"))["last"]
