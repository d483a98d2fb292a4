from celery import shared_task

from dsar.sla import services


@shared_task
def sweep() -> dict:
    """Beat, every minute: due-soon warnings and breach emails, each sent once."""
    return services.sweep()


@shared_task
def daily_digest() -> int | None:
    """Beat, daily: the list of open breached requests for supervisors."""
    return services.send_daily_digest()
