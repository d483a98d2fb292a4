"""An intake's receipt and first code, sent by the ``messages`` worker once the answer is out.

Intake writes the request with ``receipt_pending`` set (when the address's allowance let it
have a message) and, after its answer has been sent (``dsar.calls.after_response``; at commit
outside a web request), rings a **doorbell**: a cache key set only if absent. The intake that
set it publishes ``send_receipts``; the others find it set and publish nothing, since a drain
is on its way. The drain clears the bell, then sends every receipt still pending: an intake
committed before the clear is in its read, and one that rang after it publishes a drain of its
own, so no receipt waits for the next one. Under load one message serves many intakes.

Each receipt (``send_receipt``) renders the receipt, issues the challenge and queues both
messages in one transaction, and clears the flag in it: a request gets its receipt and first
code once, however often it is asked. A drain lost to a broker outage or a dying process is
made up by the next intake's bell once ``DOORBELL_SECONDS`` have passed, and by the beat's
re-drive (``redrive_receipts``), which sends every receipt still pending.

A request that left ``pending_verification`` before its receipt went out (withdrawn at
once, say) gets neither: there is nothing left to confirm.
"""

from __future__ import annotations

import logging
import uuid

from celery import current_app
from django.core.cache import cache
from django.db import transaction

from dsar import calls
from dsar.audit.services import appended_together
from dsar.notifications.services import stored_together
from dsar.verification import notices
from dsar.verification.codes import issue_challenge
from dsar.workflow.models import RightsRequest, Status

log = logging.getLogger(__name__)

SEND_TASK = "dsar.verification.tasks.send_receipts"
DOORBELL = "verification:receipts-doorbell"
# A bell whose drain was lost silences the others no longer than this.
DOORBELL_SECONDS = 10


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
    # ``request_id``'s row is committed: a drain that starts from now on reads it.
    try:
        if not cache.add(DOORBELL, 1, timeout=DOORBELL_SECONDS):
            return  # a drain is on its way and has not cleared the bell yet: it reads this one
    except Exception:  # the cache is down: publish all the same
        log.warning("could not ring the receipts' doorbell", exc_info=True)
    # By name: ``tasks`` imports this module (``VerificationConfig.ready`` registers it). A
    # task looked up so is the real one, run in this process under eager mode (``make run``).
    try:
        current_app.tasks[SEND_TASK].delay()
    except Exception:  # broker down: the flag stays set and redrive_receipts sends it
        log.warning("could not publish the receipts; they will be redriven", exc_info=True)
        _silence_bell()  # the next intake tries again


def _silence_bell() -> None:
    try:
        cache.delete(DOORBELL)
    except Exception:  # the cache is down: the bell lapses by itself
        log.warning("could not clear the receipts' doorbell", exc_info=True)


def send_receipts() -> int:
    """The drain the doorbell asks for: clear the bell, then send every receipt still pending;
    how many were sent."""
    _silence_bell()
    return redrive_receipts()


def redrive_receipts() -> int:
    """Send every receipt still pending (its publish lost); how many were sent."""
    pending = RightsRequest.objects.filter(receipt_pending=True).order_by("received_at")
    return sum(send_receipt(pk) for pk in pending.values_list("pk", flat=True).iterator())
