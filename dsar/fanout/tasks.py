"""Celery tasks: transport only. Each receives ids and calls one fan-out service; the
services publish these by name (``publishing``), so this module is the only one importing
both sides."""

from celery import shared_task

from dsar.fanout import cancellation, completion, dispatch, optout, reconciler


@shared_task(acks_late=True)
def run_tasks(task_ids: list[str]) -> dict[str, str]:
    """A stage of one request's tasks, or one system's re-driven ones: each task claimed,
    called and recorded in turn (``dispatch.run_tasks``)."""
    return dispatch.run_tasks(task_ids)


@shared_task(acks_late=True)
def run_task(task_id: str) -> str:
    """One task: a retry after its backoff."""
    return dispatch.run_task(task_id)


@shared_task(acks_late=True)
def complete_if_done(request_id: str) -> str | None:
    return completion.complete_if_done(request_id)


@shared_task
def reconcile() -> int:
    """Beat: re-drive fan-out tasks whose message was lost or whose worker died."""
    return reconciler.reconcile()


@shared_task
def end_cooling_off() -> int:
    """Beat: cancellations whose cooling-off has ended go to processing."""
    return cancellation.end_cooling_off()


@shared_task(acks_late=True)
def end_cooling_off_of(request_id: str) -> bool:
    """A check answered: a cancellation waiting for it may start its work now."""
    return cancellation.end_one(request_id)


@shared_task(acks_late=True)
def begin_opt_out(request_id: str) -> bool:
    """A verified opt-out goes to its work without review."""
    return optout.begin(request_id)
