"""The Celery messages the fan-out sends, published by task name.

The services never import ``tasks.py`` (it imports them): each message is looked up in the
Celery app's registry by name, where ``FanoutConfig.ready()`` has registered the tasks. A
task looked up that way is a real task object, so ``delay`` runs it in this process under
``CELERY_TASK_ALWAYS_EAGER`` (tests, ``make run``) exactly as before. Publish after commit.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings

log = logging.getLogger(__name__)

PUBLISH_CHUNK = 50
TASKS = "dsar.fanout.tasks."


def _task(name: str):
    return current_app.tasks[TASKS + name]


def publish(task_ids: list[str]) -> None:
    """Hand task ids to Celery (after commit), a request's stage in one message. A broker
    outage loses nothing: the rows stay pending and the reconciler re-drives them."""
    try:
        for first in range(0, len(task_ids), PUBLISH_CHUNK):
            _task("run_tasks").delay(task_ids[first : first + PUBLISH_CHUNK])
    except Exception:  # broker down: the reconciler re-drives the rows
        log.warning("could not publish %d fan-out tasks", len(task_ids), exc_info=True)


def publish_retry(task_id: str, delay: float) -> None:
    """Run one task again after ``delay`` seconds; in eager mode the reconciler picks it up."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        _task("run_task").apply_async(args=[task_id], countdown=max(delay, 0))


def publish_completion(request_id: str) -> None:
    """Ask for the completion check of a request (one with nothing to act on)."""
    _task("complete_if_done").delay(request_id)


def publish_cooling_off_check(request_id: str) -> None:
    """A dry run answered: a cancellation waiting for it may start its work now."""
    _task("end_cooling_off_of").delay(request_id)


def publish_opt_out(request_id: str) -> None:
    """A verified opt-out: move it on to its work (``optout.begin``)."""
    try:
        _task("begin_opt_out").delay(request_id)
    except Exception:  # broker down: staff see it in review and approve it by hand
        log.warning("could not publish an opt-out start", exc_info=True)
