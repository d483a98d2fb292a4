"""Opt-outs of promotional messages: no review, no dry run, the proven channel only.

An opt-out concerns one address or phone; proving it (the code or link the subject received
there) is all it needs (CCPA §7026: no verification beyond that; PIPL Art. 24 for automated
marketing). On verification the request is moved on to the work by the system, through the
transition table, once the review's legal checks have run: a legal hold still stops it for
staff. The ``opt_out`` action carries the proven channel only (``keys.subject_keys``).
"""

from __future__ import annotations

import logging

from django.db import transaction

from dsar.audit.services import Actor, record_event
from dsar.fanout.publishing import publish_opt_out
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition

log = logging.getLogger(__name__)


def schedule(request: RightsRequest) -> None:
    """Reaction to a verified opt-out: start its work once this move has committed."""
    request_id = str(request.pk)
    transaction.on_commit(lambda: publish_opt_out(request_id))


def begin(request_id: str) -> bool:
    """Move a verified opt-out to processing (the fan-out starts). False, and audited, when
    something stops it (a blocking finding, or it has moved on already)."""
    request = RightsRequest.objects.filter(pk=request_id).first()
    if request is None or request.type != RequestType.MARKETING_OPT_OUT:
        return False
    if request.status != Status.IN_REVIEW:
        return False
    try:
        transition(
            request,
            to=Status.PROCESSING,
            actor=Actor.system("opt-out"),
            reason="opt-out: the channel is proven; no review or account check",
        )
    except TransitionError as exc:
        with transaction.atomic():
            record_event(
                action="optout.held",
                actor=Actor.system("opt-out"),
                request_id=request.pk,
                payload={"reason": str(exc)[:200]},
            )
        return False
    return True
