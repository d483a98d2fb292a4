from celery import shared_task

from dsar.exports import services


@shared_task
def purge_expired() -> int:
    """Beat: delete export packages whose links expired or are used up."""
    return services.purge_expired()
