from celery import shared_task

from dsar.verification import services


@shared_task(acks_late=True)
def expire_unverified() -> int:
    """Beat: expire requests never verified within DSAR_VERIFY_EXPIRY_DAYS."""
    return services.expire_unverified()
