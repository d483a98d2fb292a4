"""Where a verification code goes: the email address or the mobile number given at intake.

Both channels have one method, ``send_code``, and both deliver only after the surrounding
transaction commits. The address always comes from the stored request, never from input.
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

    def send_code(self, *, request: RightsRequest, context: dict) -> None:
        queue_email(
            to=request.email,
            template="code",
            context=context,
            language=request.language,
            request_id=request.pk,
        )


class SmsChannel:
    name = Channel.PHONE

    def send_code(self, *, request: RightsRequest, context: dict) -> None:
        with translation.override(request.language):
            text = render_to_string("sms/code.txt", context).strip()
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
