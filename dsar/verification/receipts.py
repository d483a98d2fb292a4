"""An intake's receipt and first code, sent by the ``messages`` worker once the answer is out.

Intake writes the request with ``receipt_pending`` set (when the address's allowance let it
have a message) and publishes ``send_receipt`` after its answer has been sent
(``dsar.calls.after_response``; at commit outside a web request). The worker renders the
receipt, issues the challenge and queues both messages in one transaction, and clears the
flag in it: a request gets its receipt and first code once, however often the task runs. A
publish lost to a broker outage or a dying process is made up by the beat's re-drive
(``redrive_receipts``), which sends every receipt still pending: should it meet one whose
task is on its way, whichever comes second finds the flag cleared and sends nothing.

A request that left ``pending_verification`` before its receipt went out (withdrawn at
once, say) gets neither: there is nothing left to confirm.
"""

from __future__ import annotations

import logging
import uuid

from celery import current_app
from django.db import transaction

from dsar import calls
from dsar.audit.services import appended_together
from dsar.notifications.services import stored_together
from dsar.verification import notices
from dsar.verification.codes import issue_challenge
from dsar.workflow.models import RightsRequest, Status

log = logging.getLogger(__name__)

SEND_TASK = "dsar.verification.tasks.send_receipt"


def send_receipt(request_id: uuid.UUID | str) -> bool:
    """Send the receipt and first code of a request filed with ``receipt_pending``; False
    when there is none to send (sent already, or never due)."""
    with transaction.atomic(), appended_together(), stored_together():
        request = (
            RightsRequest.objects.select_for_update()
            .filter(pk=request_id, receipt_pending=True)
            .first()
        )
        if request is None:
            return False
        RightsRequest.objects.filter(pk=request.pk).update(receipt_pending=False)
        request.receipt_pending = False
        if request.status != Status.PENDING_VERIFICATION:
            return False
        notices.notify(request, "receipt")
        # Not as a new request's: a resend asked for before this ran has a code to supersede.
        issue_challenge(request=request)
    return True


def publish_after_commit(request: RightsRequest) -> None:
    """Have the ``messages`` worker send ``request``'s receipt once the surrounding
    transaction has committed and the current answer (if any) is out."""
    request_id = str(request.pk)
    transaction.on_commit(lambda: calls.after_response(lambda: _publish(request_id)))


def _publish(request_id: str) -> None:
    # By name: ``tasks`` imports this module (``VerificationConfig.ready`` registers it). A
    # task looked up so is the real one, run in this process under eager mode (``make run``).
    try:
        current_app.tasks[SEND_TASK].delay(request_id)
    except Exception:  # broker down: the flag stays set and redrive_receipts sends it
        log.warning("could not publish a receipt; it will be redriven", exc_info=True)


def redrive_receipts() -> int:
    """Send every receipt still pending (its publish lost); how many were sent."""
    pending = RightsRequest.objects.filter(receipt_pending=True).order_by("received_at")
    return sum(send_receipt(pk) for pk in pending.values_list("pk", flat=True).iterator())
