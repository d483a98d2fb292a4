"""Queue and deliver the product's emails and text messages. Callers use ``queue_email`` and
``queue_sms``; messages to a subject about their request go through ``dsar.notifications.
subject.notify_subject``, which picks between the two."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from dsar import calls
from dsar.branding import services as branding
from dsar.gathering import Gathering
from dsar.notifications.models import MessageChannel, OutboundEmail
from dsar.notifications.tasks import deliver_emails

log = logging.getLogger(__name__)


def render(template: str, context: dict, language: str) -> tuple[str, str]:
    """Subject line and plain-text body of ``templates/emails/<template>.{subject,body}.txt``,
    the body signed with the company's name and contact channels once the admin set them
    (``dsar.branding``), every email alike."""
    with translation.override(language):
        subject = render_to_string(f"emails/{template}.subject.txt", context)
        body = render_to_string(f"emails/{template}.body.txt", context).strip()
    signature = branding.text(language)
    if signature:
        body += "\n\n-- \n" + signature
    return " ".join(subject.split()), body + "\n"


def render_sms(template: str, context: dict, language: str) -> str:
    """The text of ``templates/sms/<template>.txt`` in ``language``, without blank lines
    (a text has no room for them), starting with the company's name in 【】 once the admin
    set it (the signature a text message in China carries)."""
    with translation.override(language):
        text = render_to_string(f"sms/{template}.txt", context)
    text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    company = branding.brand(language)
    return f"【{company.name}】{text}" if company.configured else text


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
    return _store(MessageChannel.EMAIL, to, template, language, subject, body, request_id)


def queue_sms(
    *,
    to: str,
    text: str,
    template: str,
    language: str,
    request_id: uuid.UUID | None = None,
) -> OutboundEmail:
    """Store a text message for the phone ``to`` (E.164) and deliver it after the surrounding
    commit, exactly once and with the emails' retries. ``template`` names it in the outbox
    and the audit trail; render ``text`` with ``render_sms``."""
    return _store(MessageChannel.SMS, to, template, language, "", text, request_id)


def _store(channel, to, template, language, subject, body, request_id) -> OutboundEmail:
    message = OutboundEmail(
        channel=channel,
        template=template,
        language=language,
        to=to,
        subject=subject,
        body=body,
        request_id=request_id,
        next_attempt_at=timezone.now(),
    )
    if not _STORED.add([message]):
        message.save(force_insert=True)
    _deliver_after_commit(str(message.pk))
    return message


_STORED = Gathering("stored_together", lambda messages: OutboundEmail.objects.bulk_create(messages))


def stored_together():
    """Inside a transaction: the messages queued in this block are stored when it ends, in
    one INSERT (an intake's receipt and code cost one statement, not two). Until then they
    are not in the table. Nested blocks join the outermost one; if the block raises, its
    messages are dropped with the rollback (their publish finds no row and skips them)."""
    return _STORED.together()


# The messages queued on this thread since the last publish. Every queued one registers a
# commit callback; the first to run publishes them all in one message and the rest find the
# list empty. Ids of messages whose transaction (or savepoint) rolled back may ride along with a
# later publish: ``deliver`` finds no row for them and skips them.
_queued = threading.local()


def _deliver_after_commit(email_id: str) -> None:
    if not hasattr(_queued, "ids"):
        _queued.ids = []
    _queued.ids.append(email_id)
    transaction.on_commit(_publish_after_response)


def _publish_after_response() -> None:
    # The rows are committed; the publish waits until the answer is on its way (the
    # subject's code is not sent any later, and the answer does not wait for the broker). A
    # process that dies in between leaves them pending for the outbox's re-drive.
    calls.after_response(_publish_queued)


def _publish_queued() -> None:
    ids, _queued.ids = getattr(_queued, "ids", []), []
    if not ids:
        return
    try:
        deliver_emails.delay(ids)
    except Exception:  # broker down: the rows stay pending and redrive_outbox sends them
        log.warning("could not publish %d messages; they will be redriven", len(ids),
                    exc_info=True)  # fmt: skip


def anonymise(request, *, now: dt.datetime) -> None:
    """Record retention: messages queued for a closed request (their bodies name the subject)."""
    OutboundEmail.objects.filter(request_id=request.pk).delete()
