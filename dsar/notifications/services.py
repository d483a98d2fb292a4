"""Queue and deliver the product's emails. Callers use ``queue_email`` and nothing else."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from dsar.audit.services import Actor, record_event
from dsar.notifications.models import EmailStatus, OutboundEmail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)


def render(template: str, context: dict, language: str) -> tuple[str, str]:
    """Subject line and plain-text body of ``templates/emails/<template>.{subject,body}.txt``."""
    with translation.override(language):
        subject = render_to_string(f"emails/{template}.subject.txt", context)
        body = render_to_string(f"emails/{template}.body.txt", context)
    return " ".join(subject.split()), body.strip() + "\n"


def queue_email(
    *,
    to: str,
    template: str,
    context: dict,
    language: str,
    request_id: uuid.UUID | None = None,
) -> OutboundEmail:
    """Render an email now, store it, and deliver it after the surrounding commit."""
    subject, body = render(template, context, language)
    email = OutboundEmail.objects.create(
        template=template,
        language=language,
        to=to,
        subject=subject,
        body=body,
        request_id=request_id,
        next_attempt_at=timezone.now(),
    )
    _deliver_after_commit(str(email.pk))
    return email


# The emails queued on this thread since the last publish. Every queued email registers a
# commit callback; the first to run publishes them all in one message and the rest find the
# list empty. Ids of emails whose transaction (or savepoint) rolled back may ride along with a
# later publish: ``deliver`` finds no row for them and skips them.
_queued = threading.local()


def _deliver_after_commit(email_id: str) -> None:
    if not hasattr(_queued, "ids"):
        _queued.ids = []
    _queued.ids.append(email_id)
    transaction.on_commit(_publish_queued)


def _publish_queued() -> None:
    from dsar.notifications.tasks import deliver_emails  # tasks imports this module

    ids, _queued.ids = getattr(_queued, "ids", []), []
    if not ids:
        return
    try:
        deliver_emails.delay(ids)
    except Exception:  # broker down: the rows stay pending and redrive_outbox sends them
        log.warning("could not publish %d emails; they will be redriven", len(ids),
                    exc_info=True)  # fmt: skip


def backoff(attempts: int) -> dt.timedelta:
    return BACKOFF_BASE * (2 ** max(attempts - 1, 0))


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
                email.next_attempt_at = timezone.now() + backoff(email.attempts)
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
