"""Delivering queued messages: one attempt at a time, retried with backoff, audited. Called by
the Celery tasks (``tasks.py``); callers queue with ``services.queue_email`` and
``services.queue_sms``. An email goes through Django's mail backend, a text message through
the SMS backend (``sms.py``)."""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.backoff import backoff
from dsar.notifications import sms
from dsar.notifications.models import EmailStatus, MessageChannel, OutboundEmail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)


def _send(message: OutboundEmail) -> None:
    if message.channel == MessageChannel.SMS:
        sms.backend().send(to=message.to, text=message.body)
    else:
        EmailMessage(
            message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to]
        ).send()


def _error(message: OutboundEmail, exc: Exception) -> str:
    """What is kept of a failed attempt. Only the type for a text: a gateway's message may
    quote the number."""
    if message.channel == MessageChannel.SMS:
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"[:300]


def deliver(email_id) -> str:
    """Try to send one queued message; return its status afterwards. Safe to call twice."""
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
            _send(email)
        except Exception as exc:  # any transport error: retry later
            email.last_error = _error(email, exc)
            if email.attempts >= MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
            else:
                email.next_attempt_at = timezone.now() + backoff(email.attempts, base=BACKOFF_BASE)
            log.warning("%s %s attempt %s failed", email.channel, email.pk, email.attempts)
        else:
            email.status = EmailStatus.SENT
            email.sent_at = timezone.now()
            email.last_error = ""
        email.save()
        if email.status != EmailStatus.PENDING:
            record_event(
                action=f"{email.channel}.{email.status}",
                actor=Actor.system("mail"),
                request_id=email.request_id,
                payload={"template": email.template, "email_id": str(email.pk)},
            )
        return email.status


def due_emails(limit: int = 100) -> list:
    """Ids of pending messages (emails and texts) whose next attempt is due."""
    return list(
        OutboundEmail.objects.filter(
            status=EmailStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
