"""Delivering queued emails: one attempt at a time, retried with backoff, audited. Called by
the Celery tasks (``tasks.py``); callers queue emails with ``services.queue_email``."""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.backoff import backoff
from dsar.notifications.models import EmailStatus, OutboundEmail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)


def deliver(email_id) -> str:
    """Try to send one queued email; return its status afterwards. Safe to call twice."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=EmailStatus.PENDING)
            .first()
        )
        if email is None:  # already sent, given up, or being sent by another worker
            return "skipped"
        email.attempts += 1
        try:
            EmailMessage(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.to]).send()
        except Exception as exc:  # any transport error: retry later
            email.last_error = f"{type(exc).__name__}: {exc}"[:300]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
            else:
                email.next_attempt_at = timezone.now() + backoff(email.attempts, base=BACKOFF_BASE)
            log.warning("email %s attempt %s failed", email.pk, email.attempts)
        else:
            email.status = EmailStatus.SENT
            email.sent_at = timezone.now()
            email.last_error = ""
        email.save()
        if email.status != EmailStatus.PENDING:
            record_event(
                action=f"email.{email.status}",
                actor=Actor.system("mail"),
                request_id=email.request_id,
                payload={"template": email.template, "email_id": str(email.pk)},
            )
        return email.status


def due_emails(limit: int = 100) -> list:
    """Ids of pending emails whose next attempt is due."""
    return list(
        OutboundEmail.objects.filter(
            status=EmailStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
