"""Record retention (SPEC §8): closed requests are anonymised after DSAR_RECORD_RETENTION_DAYS.

What identifies the subject goes: the identity and its keyed hashes, evidence, messages,
notes, corrections, export data and packages, queued emails, decision texts. What the
statistics and the legal record need stays: type, status, outcome, dates, verification method,
findings, downstream task states, and the audit trail (which never held personal data, so
its hash chain still verifies).
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.workflow import hooks
from dsar.workflow.models import TERMINAL_STATUSES, RightsRequest

log = logging.getLogger(__name__)


def due_for_anonymisation(*, now: dt.datetime):
    cutoff = now - dt.timedelta(days=settings.DSAR_RECORD_RETENTION_DAYS)
    return RightsRequest.objects.filter(
        status__in=TERMINAL_STATUSES, closed_at__lt=cutoff, anonymised_at__isnull=True
    )


def anonymise(request: RightsRequest, *, now: dt.datetime) -> None:
    """Strip a closed request of what identifies the subject: its own fields here, every
    part's rows through the anonymisers the parts registered (``hooks.anonymiser``)."""
    with transaction.atomic():
        for field in ("email", "phone", "full_name", "account_id", "description"):
            setattr(request, field, "")
        request.email_hash = request.phone_hash = ""
        request.extension_reason = ""
        request.anonymised_at = now
        request.save()
        for anonymiser in hooks.ANONYMISERS:
            anonymiser(request, now=now)
        record_event(
            action="request.anonymised",
            actor=Actor.system("retention"),
            request_id=request.pk,
            payload={"retention_days": settings.DSAR_RECORD_RETENTION_DAYS},
        )


def anonymise_expired(*, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Beat (daily): anonymise closed requests past the retention period, then let each part
    purge what it kept only for as long (``hooks.purger``)."""
    now = now or timezone.now()
    done = 0
    for request in due_for_anonymisation(now=now)[:batch]:
        anonymise(request, now=now)
        done += 1
    for purge in hooks.PURGERS:
        purge(now=now, keep_days=settings.DSAR_RECORD_RETENTION_DAYS)
    return done
