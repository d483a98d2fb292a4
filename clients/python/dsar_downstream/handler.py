"""What a service writes: a ``Handler`` with one method per action it does.

Each method receives the parsed ``DsarRequest`` and returns

- a dict: done, answered 200 with the dict (and our idempotency key). ``check`` answers what
  the service holds for the account (``{"emails": [...], "phones": [...], "obligations":
  [{"kind": "…"}], "categories": [...]}``); ``delete`` and the others may say how much they
  did (``{"deleted": 3}``);
- for ``export``: a ``Page(rows, next=cursor)`` (or a plain list of rows, all at once). With
  ``next`` set the product asks again with ``request.cursor`` for the following page;
- ``later(work)``: answered 202 at once; ``work()`` runs in a thread and its end is reported
  by a signed callback ("done", with what it returns as the detail, or "failed" if it
  raises);
- ``accepted()``: answered 202, and the service reports the end itself with
  ``send_callback`` (a queue, a person, a batch at night).

Raise ``Refuse(message)`` for what will never be done (422: the task fails, staff read the
message), ``TryLater(message)`` for what cannot be done now (503: the product asks again).
An action the handler does not define is refused the same way.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from dsar_downstream.errors import Refuse
from dsar_downstream.messages import DsarRequest


@dataclass(frozen=True)
class Page:
    """One page of an export; ``next`` is the cursor of the following page, None at the end."""

    rows: list[dict] = field(default_factory=list)
    next: str | None = None


@dataclass(frozen=True)
class Later:
    work: Callable[[], str | None]


@dataclass(frozen=True)
class Accepted:
    pass


def later(work: Callable[[], str | None]) -> Later:
    """Answer 202 now, run ``work`` in a thread, then call back (its return is the detail)."""
    return Later(work)


def accepted() -> Accepted:
    """Answer 202 now; the service calls back itself with ``send_callback``."""
    return Accepted()


class Handler:
    """Subclass and define the actions your service does; the rest are refused."""

    def check(self, request: DsarRequest) -> dict:
        raise self._not_done(request)

    def export(self, request: DsarRequest) -> Page | list[dict]:
        raise self._not_done(request)

    def delete(self, request: DsarRequest) -> dict | Later | Accepted:
        raise self._not_done(request)

    def correct(self, request: DsarRequest) -> dict | Later | Accepted:
        raise self._not_done(request)

    def close_account(self, request: DsarRequest) -> dict | Later | Accepted:
        raise self._not_done(request)

    def anonymise(self, request: DsarRequest) -> dict | Later | Accepted:
        raise self._not_done(request)

    def _not_done(self, request: DsarRequest) -> Refuse:
        return Refuse(f"This service does not do {request.action!r}: remove the action from "
                      "the system's registration.")  # fmt: skip
