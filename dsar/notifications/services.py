"""Queue and deliver the product's emails. Callers use ``queue_email`` and nothing else."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from dsar.notifications.models import OutboundEmail
from dsar.notifications.tasks import deliver_emails

log = logging.getLogger(__name__)


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
    ids, _queued.ids = getattr(_queued, "ids", []), []
    if not ids:
        return
    try:
        deliver_emails.delay(ids)
    except Exception:  # broker down: the rows stay pending and redrive_outbox sends them
        log.warning("could not publish %d emails; they will be redriven", len(ids),
                    exc_info=True)  # fmt: skip


def anonymise(request, *, now: dt.datetime) -> None:
    """Record retention: emails queued for a closed request (their bodies name the subject)."""
    OutboundEmail.objects.filter(request_id=request.pk).delete()
