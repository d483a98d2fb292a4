"""Notices to the subject about their request, with the context every template shares and
the status link, handed to the one notifier (``dsar.notifications.subject``).

Only the address stored at intake is ever written to: the email address, or for a subject
who gave only a mobile number, an SMS to it.
"""

from django.conf import settings
from django.urls import reverse

from dsar.notifications.links import emailed_link
from dsar.notifications.subject import notify_subject
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import RequestType, RightsRequest


def status_url(request: RightsRequest) -> str:
    """The request's status page, its token in the fragment (never sent to a server)."""

    path = reverse("portal:status", kwargs={"pk": request.pk})
    return emailed_link(path, t=make_status_token(request))


def portal_url() -> str:
    return f"{settings.DSAR_PUBLIC_BASE_URL}{reverse('portal:home')}"


def notify(request: RightsRequest, template: str, **extra) -> None:
    """Queue the notice ``template`` for the subject in their language: the email
    ``templates/emails/<template>``, or the text ``sms/<template>.txt`` with the status link
    for a subject who gave only a phone. ``extra`` adds to (or overrides) the shared context.
    It is sent after the surrounding transaction commits."""
    context = {
        "reference": request.reference,
        "type_label": RequestType(request.type).label,
        "portal_url": portal_url(),
        "due_at": request.due_at,  # shown with the ``deadline`` filter (sla/templatetags)
        **extra,
    }
    notify_subject(request, template, context=context, status_url=status_url(request))
