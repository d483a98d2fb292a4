from celery import shared_task

from dsar.notifications import delivery


@shared_task(acks_late=True)
def deliver_email(email_id: str) -> str:
    """One email. Kept for messages published before ``deliver_emails`` took over."""
    return delivery.deliver(email_id)


@shared_task(acks_late=True)
def deliver_emails(email_ids: list[str]) -> dict[str, str]:
    """The emails one transaction queued (a receipt and a code, say): one message."""
    return {email_id: delivery.deliver(email_id) for email_id in email_ids}


@shared_task
def redrive_outbox() -> int:
    """Beat: send every pending email whose next attempt is due (retries, lost publishes)."""
    ids = delivery.due_emails()
    for email_id in ids:
        delivery.deliver(email_id)
    return len(ids)
