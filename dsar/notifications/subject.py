"""The one notifier for messages to a subject about their request.

Every notice a subject gets (receipt, verified, a question, an extension, a decision, the
outcome, the download link, …) goes through ``notify_subject``. It writes to the address the
subject gave at intake: their email when they gave one, else a short text to their mobile, in
their language, ending with their status link. Either way the message is an outbox row in
the caller's transaction, delivered once after commit and retried like every email; no
address or number is logged.

This module is in the base layer: it knows a request only by the attributes it reads
(``email``, ``phone``, ``language``, ``pk``); the part that calls it builds the context and
the status link (``dsar.verification.notices.notify``).
"""

from __future__ import annotations

import uuid
from typing import Protocol

from dsar.notifications.models import OutboundEmail
from dsar.notifications.services import queue_email, queue_sms, render_sms


class Addressee(Protocol):
    """What the notifier reads of a request."""

    pk: uuid.UUID
    email: str
    phone: str
    language: str


def notify_subject(
    request: Addressee, template: str, *, context: dict, status_url: str
) -> OutboundEmail | None:
    """Queue ``template`` for the subject of ``request``: the email ``emails/<template>`` to
    their email address, or, for a subject who gave only a phone number, the text
    ``sms/<template>.txt`` followed by ``status_url``. Returns the outbox row, or None when
    the request has neither (nothing to write to). Delivered after the surrounding commit."""
    context = {**context, "status_url": status_url}
    if request.email:
        return queue_email(
            to=request.email,
            template=template,
            context=context,
            language=request.language,
            request_id=request.pk,
        )
    if request.phone:
        text = render_sms(template, context, request.language)
        return queue_sms(
            to=request.phone,
            text=f"{text}\n{status_url}",
            template=template,
            language=request.language,
            request_id=request.pk,
        )
    return None


def text_subject(request: Addressee, template: str, *, context: dict) -> OutboundEmail | None:
    """Queue the text ``sms/<template>.txt`` to the subject's mobile whatever else they gave
    (a secret that must not travel with the email it unlocks: an export ZIP's password);
    None when the request has no number. Delivered after the surrounding commit."""
    if not request.phone:
        return None
    return queue_sms(
        to=request.phone,
        text=render_sms(template, context, request.language),
        template=template,
        language=request.language,
        request_id=request.pk,
    )
