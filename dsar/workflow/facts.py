"""Facts about one request read once per call, by whichever part asks first.

A verification or an approval asks the same questions in several parts: separation of duties,
the legal checks and the staff answer all want the request's verifications; the checks' guard
and the answer want its fees and its representation. Inside :func:`once` the first reader
reads a fact and the others get the same rows; outside it every read goes to the database, as
before. A call opens the block only where nothing in it changes those rows after they are
read, except through :func:`known` (the writer states what it wrote); every writer of these
rows takes the request's row lock first, and the caller holds that lock for its transaction,
so what was read cannot change under it.

Facts are named by the part that reads them (``"verifications"``, ``"fees"``, …) and stored
on the instance, so they never outlive it or leak to another request.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dsar.workflow.models import RightsRequest

_ATTR = "_facts_of_this_call"


@contextmanager
def once(request: RightsRequest) -> Iterator[None]:
    """Within this block, each fact of ``request`` is read at most once (nested blocks share
    the outer one's facts)."""
    if _ATTR in request.__dict__:
        yield
        return
    setattr(request, _ATTR, {})
    try:
        yield
    finally:
        request.__dict__.pop(_ATTR, None)


def active(request: RightsRequest) -> bool:
    """Whether a :func:`once` block of ``request`` is open."""
    return _ATTR in request.__dict__


def read(request: RightsRequest, name: str, reader: Callable):
    """``reader()``, or what it returned the first time inside :func:`once`."""
    memo = request.__dict__.get(_ATTR)
    if memo is None:
        return reader()
    if name not in memo:
        memo[name] = reader()
    return memo[name]


def known(request: RightsRequest, name: str, value) -> None:
    """Inside :func:`once`: the fact ``name`` is ``value`` (its writer says so, after writing
    it); outside, nothing to do."""
    memo = request.__dict__.get(_ATTR)
    if memo is not None:
        memo[name] = value


def share(source: RightsRequest, target: RightsRequest) -> None:
    """Let ``target`` (another instance of the same request, e.g. re-read for an answer) use
    the facts ``source`` has read in its open block."""
    memo = source.__dict__.get(_ATTR)
    if memo is not None and source.pk == target.pk:
        setattr(target, _ATTR, memo)
