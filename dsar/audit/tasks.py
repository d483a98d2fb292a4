from celery import shared_task

from dsar.audit import sequencer


@shared_task(acks_late=True)
def sequence() -> int:
    """Beat, every few seconds: give committed audit events their place in the chain. A run
    that finds another one working returns at once (the next one picks up the rest)."""
    return sequencer.sequence_events(wait=False)
