"""The HTTP request this thread is answering, if any, work that waits until its response
has been sent, and values worked out once for it.

Django sends ``request_started`` when a WSGI server hands it a request and
``request_finished`` when the server closes the response, after writing it to the client.
Between the two, ``current()`` is a token for the call (compared with ``is``); elsewhere (a
Celery task, a management command) it is None.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.core.signals import request_finished, request_started

log = logging.getLogger(__name__)
T = TypeVar("T")

# ``mark``: the call's token; ``after``: its deferred work; ``memo``: values worked out for it
_state = threading.local()


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


def once(key: Hashable, work: Callable[[], T]) -> T:
    """``work()``, worked out once for ``key`` in the current HTTP request and forgotten when
    its response has been sent; every time outside a request. For pure functions of their
    arguments the call needs several times (an address normalised by the form, the service
    and the writer). A ``work`` that raises is not remembered: the next call raises again.
    """
    if current() is None:
        return work()
    memo = _state.memo
    if key not in memo:
        memo[key] = work()
    return memo[key]


def _started(**kwargs) -> None:
    _state.mark, _state.after, _state.memo = object(), [], {}


def _finished(**kwargs) -> None:
    works = getattr(_state, "after", [])
    _state.mark, _state.after, _state.memo = None, [], {}
    for work in works:
        try:
            work()
        except Exception:
            log.exception("work after the response failed")


request_started.connect(_started, weak=False)
request_finished.connect(_finished, weak=False)
