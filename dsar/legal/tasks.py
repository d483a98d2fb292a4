from celery import shared_task

from dsar.legal import retention


@shared_task(acks_late=True)
def run_due_deletions() -> int:
    """Beat: carry out the deferred deletions whose retention period has ended."""
    return retention.run_due_deletions()
