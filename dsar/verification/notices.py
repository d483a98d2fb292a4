"""Emails to the subject about their request, with the context every template shares.

Only the address stored at intake is ever written to; a subject who gave only a mobile
number receives codes by SMS and follows the rest on the status page.
"""

from django.conf import settings
from django.urls import reverse

from dsar.notifications.links import emailed_link
from dsar.notifications.services import queue_email
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import RequestType, RightsRequest


def status_url(request: RightsRequest) -> str:
    """The request's status page, its token in the fragment (never sent to a server)."""

    path = reverse("portal:status", kwargs={"pk": request.pk})
    return emailed_link(path, t=make_status_token(request))


def portal_url() -> str:
    return f"{settings.DSAR_PUBLIC_BASE_URL}{reverse('portal:home')}"


def notify(request: RightsRequest, template: str, **extra) -> None:
    """Queue ``templates/emails/<template>`` for the subject in their language, if they gave
    an email address; it is sent after the surrounding transaction commits."""
    if not request.email:
        return
    context = {
        "reference": request.reference,
        "type_label": RequestType(request.type).label,
        "status_url": status_url(request),
        "portal_url": portal_url(),
        "due_at": request.due_at,  # shown with the ``deadline`` filter (sla/templatetags)
        **extra,
    }
    queue_email(
        to=request.email,
        template=template,
        context=context,
        language=request.language,
        request_id=request.pk,
    )
