"""Where a verification code goes: the email address or the mobile number given at intake.

Both channels have one method, ``send_code``; both queue the message in the outbox, which
delivers it once after the surrounding transaction commits. The address always comes from
the stored request, never from input.
``template`` names the message: ``code`` (the subject's own code and link) or ``staff_code``
(a code staff sent for the subject to read back to them).
"""

from dsar.notifications.services import queue_email, queue_sms, render_sms
from dsar.verification.models import Channel
from dsar.workflow.models import RightsRequest


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
        queue_sms(
            to=request.phone,
            text=render_sms(template, context, request.language),
            template=template,
            language=request.language,
            request_id=request.pk,
        )


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
