"""The HTTP request this thread is answering, if any, and work that waits until its response
has been sent.

Django sends ``request_started`` when a WSGI server hands it a request and
``request_finished`` when the server closes the response, after writing it to the client.
Between the two, ``current()`` is a token for the call (compared with ``is``); elsewhere (a
Celery task, a management command) it is None.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished, request_started

log = logging.getLogger(__name__)

_state = threading.local()  # ``mark``: the call's token; ``after``: its deferred work


def current() -> object | None:
    """A token for the HTTP request this thread is answering, None outside one."""
    return getattr(_state, "mark", None)


def after_response(work: Callable[[], None]) -> None:
    """Run ``work`` once the current HTTP response has been sent (now, outside a request).

    For work the answer does not wait for, such as publishing a message whose row is already
    committed: the client has its answer that much sooner. Should the process die in between,
    the work is lost; use it only where something else redoes lost work (the outbox's
    re-drive does for messages). An exception in ``work`` is logged, and the rest still run.
    """
    if current() is None:
        work()
        return
    _state.after.append(work)


def _started(**kwargs) -> None:
    _state.mark, _state.after = object(), []


def _finished(**kwargs) -> None:
    works = getattr(_state, "after", [])
    _state.mark, _state.after = None, []
    for work in works:
        try:
            work()
        except Exception:
            log.exception("work after the response failed")


request_started.connect(_started, weak=False)
request_finished.connect(_finished, weak=False)
