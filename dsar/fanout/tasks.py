from celery import shared_task

from dsar.fanout import services


@shared_task(acks_late=True)
def run_tasks(task_ids: list[str]) -> dict[str, str]:
    """A stage of one request's tasks (or a re-drive): one message, one claim, one record."""
    return services.run_tasks(task_ids)


@shared_task(acks_late=True)
def run_task(task_id: str) -> str:
    """One task: a retry after its backoff."""
    return services.run_task(task_id)


@shared_task(acks_late=True)
def complete_if_done(request_id: str) -> str | None:
    return services.complete_if_done(request_id)


@shared_task
def reconcile() -> int:
    """Beat: re-drive fan-out tasks whose message was lost or whose worker died."""
    return services.reconcile()


@shared_task
def end_cooling_off() -> int:
    """Beat: cancellations whose cooling-off has ended go to processing."""
    from dsar.fanout.cancellation import end_cooling_off as run

    return run()


@shared_task(acks_late=True)
def end_cooling_off_of(request_id: str) -> bool:
    """A check answered: a cancellation waiting for it may start its work now."""
    from dsar.fanout.cancellation import end_one

    return end_one(request_id)
