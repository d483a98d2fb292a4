from celery import shared_task

from dsar.verification import receipts, services


@shared_task(acks_late=True)
def expire_unverified() -> int:
    """Beat: expire requests never verified within DSAR_VERIFY_EXPIRY_DAYS."""
    return services.expire_unverified()


@shared_task(acks_late=True)
def send_receipts() -> int:
    """The intakes' receipts and first codes still pending, when their doorbell rang (routed
    to the ``messages`` queue)."""
    return receipts.send_receipts()


@shared_task(acks_late=True)
def send_receipt(request_id: str) -> bool:
    """One intake's receipt and first code: messages published before the doorbell."""
    return receipts.send_receipt(request_id)


@shared_task
def redrive_receipts() -> int:
    """Beat: the receipts whose publish was lost (broker down, process died)."""
    return receipts.redrive_receipts()
