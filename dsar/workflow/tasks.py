from celery import shared_task

from dsar.workflow import retention


@shared_task
def anonymise_expired_records() -> int:
    """Beat (daily): anonymise closed requests older than DSAR_RECORD_RETENTION_DAYS."""
    return retention.anonymise_expired()
