"""Inquiries and complaints (the seeds' "联系我们"): a subject asks a question or complains
about how their data is handled; staff answer in writing, which closes the request.

They are verified, queued, timed by their response policy (cn-pipl: 30 days, GB/T 35273-2020
§8.7) and counted like any request; nothing goes downstream.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.staff.models import StaffMessage
from dsar.verification import notices
from dsar.workflow.models import ANSWERED_TYPES, Outcome, RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition

MAX_ANSWER = 5000


def answer(*, request: RightsRequest, user, body: str) -> RightsRequest:
    """Answer an inquiry or complaint in review: the answer is kept (encrypted) with the
    request's messages, sent to the subject, and the request is completed. Raises
    ``PermissionDenied`` for a role that may not answer, ``ValidationError`` for an empty or
    too long answer, ``TransitionError`` for another type or status."""
    permissions.require(user, "answer")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write the answer; the subject receives it."]})
    if len(body) > MAX_ANSWER:
        raise ValidationError({"body": [f"Keep the answer under {MAX_ANSWER} characters."]})
    if request.type not in ANSWERED_TYPES:
        raise TransitionError(
            f"A {request.type} request is approved, not answered.", current=request.status
        )
    with transaction.atomic():
        request = transition(
            request, to=Status.COMPLETED, actor=Actor.staff(user), outcome=Outcome.FULL
        )
        message = StaffMessage.objects.create(request=request, author=user, body=body)
        # The text goes to the subject, not into the audit trail (it may quote personal data).
        record_event(
            action="inquiry.answered",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"message_id": str(message.pk), "type": request.type},
        )
        notices.notify(request, "inquiry_answered", body=body)
    return request
