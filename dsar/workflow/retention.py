"""Record retention (SPEC §8): closed requests are anonymised after DSAR_RECORD_RETENTION_DAYS.

What identifies the subject goes: the identity and its keyed hashes, evidence, messages,
notes, corrections, export data and packages, queued emails, decision texts. What the
statistics and the legal record need stays: type, status, outcome, dates, verification method,
findings, downstream task states, and the audit trail (which never held personal data, so
its hash chain still verifies).
"""

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.workflow.models import TERMINAL_STATUSES, RightsRequest

log = logging.getLogger(__name__)


def due_for_anonymisation(*, now: dt.datetime):
    cutoff = now - dt.timedelta(days=settings.DSAR_RECORD_RETENTION_DAYS)
    return RightsRequest.objects.filter(
        status__in=TERMINAL_STATUSES, closed_at__lt=cutoff, anonymised_at__isnull=True
    )


def anonymise(request: RightsRequest, *, now: dt.datetime) -> None:
    from dsar.exports.models import ExportPart
    from dsar.notifications.models import OutboundEmail

    with transaction.atomic():
        for field in ("email", "phone", "full_name", "account_id", "description"):
            setattr(request, field, "")
        request.email_hash = request.phone_hash = ""
        request.extension_reason = ""
        request.anonymised_at = now
        request.save()
        request.evidence.all().delete()
        request.challenges.all().delete()
        request.verifications.update(identity_hash="")
        request.corrections.all().delete()
        request.subject_replies.all().delete()
        request.notes.all().delete()
        request.staff_messages.all().delete()
        request.decisions.update(explanation="", basis_detail="", excluded="")
        ExportPart.objects.filter(task__request=request).delete()
        for package in request.export_packages.filter(deleted_at__isnull=True):
            (Path(settings.DSAR_EXPORT_DIR) / package.file_name).unlink(missing_ok=True)
        request.export_packages.update(deleted_at=now)
        OutboundEmail.objects.filter(request_id=request.pk).delete()
        record_event(
            action="request.anonymised",
            actor=Actor.system("retention"),
            request_id=request.pk,
            payload={"retention_days": settings.DSAR_RECORD_RETENTION_DAYS},
        )


def anonymise_expired(*, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Beat (daily): anonymise closed requests past the retention period."""
    now = now or timezone.now()
    done = 0
    for request in due_for_anonymisation(now=now)[:batch]:
        anonymise(request, now=now)
        done += 1
    _purge_released_ledger(now=now)
    return done


def _purge_released_ledger(*, now: dt.datetime) -> None:
    """Ledger entries whose backups rotated out long ago are no longer needed."""
    from dsar.fanout.models import DeletionLedger

    cutoff = now - dt.timedelta(days=settings.DSAR_RECORD_RETENTION_DAYS)
    DeletionLedger.objects.filter(releases_at__lt=cutoff).delete()
