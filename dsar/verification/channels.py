"""Where a verification code goes: the email address or the mobile number given at intake.

Both channels have one method, ``send_code``, and both deliver only after the surrounding
transaction commits. The address always comes from the stored request, never from input.
``template`` names the message: ``code`` (the subject's own code and link) or ``staff_code``
(a code staff sent for the subject to read back to them).
"""

import logging

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from dsar.notifications.services import queue_email
from dsar.verification import sms
from dsar.verification.models import Channel
from dsar.workflow.models import RightsRequest

log = logging.getLogger(__name__)


class EmailChannel:
    name = Channel.EMAIL

    def send_code(self, *, request: RightsRequest, context: dict, template: str = "code") -> None:
        queue_email(
            to=request.email,
            template=template,
            context=context,
            language=request.language,
            request_id=request.pk,
        )


class SmsChannel:
    name = Channel.PHONE

    def send_code(self, *, request: RightsRequest, context: dict, template: str = "code") -> None:
        with translation.override(request.language):
            text = render_to_string(f"sms/{template}.txt", context).strip()
        to, request_id = request.phone, request.pk

        def deliver():
            try:
                sms.backend().send(to=to, text=text)
            except Exception as exc:  # the subject can ask for a new code
                # Only the error's type: a gateway's message may quote the number.
                log.warning("SMS for request %s not sent: %s", request_id, type(exc).__name__)

        transaction.on_commit(deliver)


def channel_for(request: RightsRequest):
    """Email when the subject gave one, else their mobile number."""
    return EmailChannel() if request.email else SmsChannel()


def channel_named(request: RightsRequest, name: str):
    """The channel ``name`` (``email`` or ``phone``) if the request has that address, else
    None: a code only ever goes to an address the subject gave at intake."""
    if name == Channel.EMAIL and request.email:
        return EmailChannel()
    if name == Channel.PHONE and request.phone:
        return SmsChannel()
    return None
