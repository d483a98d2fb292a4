"""The Celery messages the fan-out sends, published by task name.

The services never import ``tasks.py`` (it imports them): each message is looked up in the
Celery app's registry by name, where ``FanoutConfig.ready()`` has registered the tasks. A
task looked up that way is a real task object, so ``delay`` runs it in this process under
``CELERY_TASK_ALWAYS_EAGER`` (tests, ``make run``) exactly as before. Publish after commit.
"""

from __future__ import annotations

import logging

import kombu.exceptions
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


def _send(name: str, *args, **options) -> None:
    """Publish one message; a broker outage is logged, never raised into the caller's answer
    (these run after commit): the reconciler and the beat sweeps find the rows later."""
    try:
        _task(name).apply_async(args=list(args), **options)
    except (kombu.exceptions.OperationalError, OSError):  # broker down; task errors still raise
        log.warning("could not publish %s", name, exc_info=True)


def publish_retry(task_id: str, delay: float) -> None:
    """Run one task again after ``delay`` seconds; in eager mode the reconciler picks it up."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        _send("run_task", task_id, countdown=max(delay, 0))


def publish_completion(request_id: str) -> None:
    """Ask for the completion check of a request (one with nothing to act on)."""
    _send("complete_if_done", request_id)


def publish_cooling_off_check(request_id: str) -> None:
    """A dry run answered: a cancellation waiting for it may start its work now."""
    _send("end_cooling_off_of", request_id)


def publish_opt_out(request_id: str) -> None:
    """A verified opt-out: move it on to its work (``optout.begin``); with the broker down,
    staff see it in review and approve it by hand."""
    _send("begin_opt_out", request_id)
