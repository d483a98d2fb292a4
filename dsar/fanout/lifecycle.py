"""The lifecycle of a fan-out task: the one table of its moves and the one function that makes
them. Nothing else writes ``FanoutTask.status``.

A move is a conditional ``UPDATE … WHERE status IN (…)``: of two writers racing for the same
row, only the one whose expected status still holds changes it (claims, callbacks, chases and
the reconciler rely on that), and a move the table does not name raises before any SQL runs.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from dsar.fanout.models import FanoutTask, TaskStatus
from dsar.workflow.errors import Conflict

P, R, W = TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.WAITING
D, F, X = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.EXCLUDED

# A row is created ``pending``, or ``excluded`` when statutory retention keeps its data.
TASK_TRANSITIONS: dict[tuple[str, str], str] = {
    (P, R): "claimed by a worker for one attempt",
    (P, F): "its system's attempts are used up: refused at claim, staff are told",
    (R, D): "the system acted",
    (R, W): "the system finishes later (callback, confirmation, backup rotation)",
    (R, P): "a retryable failure (backoff), or its claim's lease passed (the worker died) and "
    "the reconciler re-drives it",
    (R, F): "a permanent failure, or the last attempt failed: staff are told",
    (R, R): "its claim's lease extended by the worker holding it, before a call",
    (W, D): "callback, confirmation or rotation arrived",
    (W, F): "callback reported a failure",
    (W, R): "chased: no callback in time, or the recipient's cutoff passed",
    (F, P): "staff retried the system, or a dry run is asked again",
    (D, P): "a dry run is asked again (cancellation after cooling-off)",
    (X, P): "the retention period ended: the deletion runs",
}


class TaskTransitionError(Conflict):
    """A task move the lifecycle does not allow; nothing was changed."""


def sources_of(to: str) -> frozenset[str]:
    """Every status a task may move to ``to`` from."""
    return frozenset(frm for frm, target in TASK_TRANSITIONS if target == to)


def move(tasks: QuerySet | Iterable, *, to: str, frm: Iterable[str] | None = None, **fields) -> int:
    """Move the tasks (a queryset, or ids) whose status is in ``frm`` (default: every status
    the table allows into ``to``) to ``to``, setting ``fields`` too; return how many moved.

    Raises ``TaskTransitionError`` if a pair ``(frm, to)`` is not in the table.
    """
    frm = _checked(to, frm)
    fields.setdefault("updated_at", timezone.now())
    rows = tasks if isinstance(tasks, QuerySet) else FanoutTask.objects.filter(pk__in=list(tasks))
    return rows.filter(status__in=frm).update(status=to, **fields)


@dataclass(frozen=True)
class Move:
    """One task's move, checked against the table when its SQL is built: to ``to`` from one
    of ``frm`` (default: every status the table allows into ``to``), setting ``fields``, if
    the row also meets ``where`` (``{"field": value}`` equal, or ``{"field__lte": value}``:
    e.g. nobody counted an attempt since it was read)."""

    task_id: object
    to: str
    frm: frozenset | None = None
    fields: dict = field(default_factory=dict)
    where: dict = field(default_factory=dict)


def move_sql(move: Move) -> tuple[str, tuple]:
    """The SQL and parameters of ``move`` as ``UPDATE … WHERE id = … RETURNING id``, checked
    against the table as :func:`move` checks, for a caller that runs it inside one statement
    with other writes (``outcomes``), saving a transaction's round trips. Nothing runs here.

    Built from the model's columns rather than through a queryset: this is the dispatcher's
    hot path, and the compiled queryset cost more than the statement."""
    frm = _checked(move.to, move.frm)
    connection = connections[FanoutTask.objects.db]
    quote, meta = connection.ops.quote_name, FanoutTask._meta
    fields = {"status": move.to, "updated_at": timezone.now(), **move.fields}
    sets, params = [], []
    for name, value in fields.items():
        column = meta.get_field(name)
        sets.append(f"{quote(column.column)} = %s")
        params.append(column.get_db_prep_save(value, connection))
    status = ", ".join(["%s"] * len(frm))
    conditions = [
        f"{quote(meta.pk.column)} = %s",
        f"{quote(meta.get_field('status').column)} IN ({status})",
    ]
    params += [meta.pk.get_db_prep_value(move.task_id, connection), *sorted(frm)]
    for lookup, value in move.where.items():
        name, _, operator = lookup.partition("__")
        column = meta.get_field(name)
        conditions.append(f"{quote(column.column)} {_OPERATORS[operator]} %s")
        params.append(column.get_db_prep_value(value, connection))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608 (the model's names)
        f"WHERE {' AND '.join(conditions)} RETURNING {quote(meta.pk.column)}"
    )
    return sql, tuple(params)


_OPERATORS = {"": "=", "lte": "<=", "lt": "<"}


def renewal(task_id, *, lease_until) -> Move:
    """Extending the lease of a task's claim (``running`` stays ``running``), for a worker
    about to make a call its lease might not cover; a task it does not move was taken back
    (its lease had passed) and must not be called."""
    return Move(task_id, to=R, frm=frozenset({R}), fields={"lease_until": lease_until})


def _checked(to: str, frm: Iterable[str] | None) -> frozenset[str]:
    """The statuses a move to ``to`` comes from; raises for a move the table does not name."""
    frm = sources_of(to) if frm is None else frozenset(frm)
    illegal = sorted(f"{source} → {to}" for source in frm if (source, to) not in TASK_TRANSITIONS)
    if illegal or not frm:
        raise TaskTransitionError(f"A fan-out task cannot move {', '.join(illegal) or to}.")
    return frm
