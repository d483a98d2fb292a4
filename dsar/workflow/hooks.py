"""Where the parts above the core plug into a request's life, so the core imports none of them.

``transition()`` runs, for a move ``frm`` → ``to``:

- the **guards** registered for ``to``, under the row lock before anything changes: a guard
  refuses the move by raising ``TransitionError`` (nothing is written);
- the **entries**, which set the fields that entering ``to`` implies (a deadline, a pause) and
  return their names; the status and those fields are saved together;
- the **reactions**, in the same database transaction once the move is saved: parts record
  what follows and schedule their asynchronous work with ``transaction.on_commit``.

Record retention asks every registered **anonymiser** to strip its own rows of a closed
request, and every **purger** to delete what it kept only for the retention period. The list
of what each move sets off is written in one place, ``dsar.effects``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Hook:
    run: Callable
    to: frozenset | None = None  # None: any target
    frm: frozenset | None = None  # None: from anywhere
    types: frozenset | None = None  # None: every request type
    outcome: str = ""  # only when the request ends with this outcome

    def applies(self, request, frm: str, to: str) -> bool:
        return (
            (self.to is None or to in self.to)
            and (self.frm is None or frm in self.frm)
            and (self.types is None or request.type in self.types)
            and (not self.outcome or request.outcome == self.outcome)
        )


GUARDS: list[Hook] = []
ENTRIES: list[Hook] = []
REACTIONS: list[Hook] = []
ANONYMISERS: list[Callable] = []
PURGERS: list[Callable] = []


def _hook(run, to, frm, types, outcome) -> Hook:
    def as_set(values: Iterable[str] | None):
        return None if values is None else frozenset(values)

    return Hook(run, as_set(to), as_set(frm), as_set(types), outcome)


def guard(run, *, to=None, frm=None, types=None) -> None:
    """``run(request)`` may refuse a move by raising ``TransitionError``."""
    GUARDS.append(_hook(run, to, frm, types, ""))


def entry(run, *, to=None, frm=None, types=None) -> None:
    """``run(request, frm=, to=, now=)`` sets fields on the locked row; returns their names."""
    ENTRIES.append(_hook(run, to, frm, types, ""))


def reaction(run, *, to=None, frm=None, types=None, outcome="") -> None:
    """``run(request)`` reacts inside the move's transaction (publish work after commit)."""
    REACTIONS.append(_hook(run, to, frm, types, outcome))


def anonymiser(run) -> None:
    """``run(request, now=)`` strips one part's rows of a closed request of personal data."""
    ANONYMISERS.append(run)


def purger(run) -> None:
    """``run(now=, keep_days=)`` deletes what a part kept only for the retention period."""
    PURGERS.append(run)


def run_guards(request, *, frm: str, to: str) -> None:
    for hook in GUARDS:
        if hook.applies(request, frm, to):
            hook.run(request)


def run_entries(request, *, frm: str, to: str, now) -> list[str]:
    changed = []
    for hook in ENTRIES:
        if hook.applies(request, frm, to):
            changed += hook.run(request, frm=frm, to=to, now=now)
    return changed


def run_reactions(request, *, frm: str, to: str) -> None:
    for hook in REACTIONS:
        if hook.applies(request, frm, to):
            hook.run(request)
