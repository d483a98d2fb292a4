"""Running fan-out tasks' attempts: claim them, call each system's connector, record the
outcomes.

A message carries task ids (a request's stage, or one system's due tasks from the
reconciler). The batch takes them a request at a time (a **group**: that request's tasks in
the message). A group's tasks are claimed together with one conditional UPDATE per task
(``pending`` → ``running``, counting the attempt, with a lease) in one statement, so two
deliveries of the same message cannot both run one; then each is called in turn, outside any
transaction, and the outcomes are committed in one statement when the group ends (with the
next group's claims), and earlier whenever the calls waiting for their commit have taken
``FLUSH_SECONDS``: a slow call's outcome commits as it returns, and a worker that dies
resends at most the call in flight and those that returned within that time before it, each
with its idempotency key (the downstream acts on a key once). The request then moves on.

A claim holds a **lease** (``lease_until``): the longest ``timeout_seconds`` of the group's
systems and ``LEASE_MARGIN``. Before each call the worker makes sure the leases it holds cover
that call and the margin, extending them if not (``lifecycle.renewal``, with the outcomes
waiting); recording an outcome ends its lease. A lease that passed means the worker died
(SIGKILL, a hard time limit, a lost database), and the reconciler re-drives the task.

A batch claims no group of tasks whose calls might end after ``BATCH_SECONDS`` (well below
Celery's hard time limit); the tasks it did not reach were never claimed, so they stay
``pending`` with no attempt spent, and go out again in a new message.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from dsar.exports import services as exports
from dsar.fanout import ledger, lifecycle
from dsar.fanout.checkpoints import CacheCheckpoint
from dsar.fanout.connectors import (
    CONFIRMATION,
    DONE,
    FAILED,
    RETRY,
    Call,
    Outcome,
    SubjectKeys,
    connector_for,
)
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import Action, FanoutTask, TaskStatus
from dsar.fanout.outcomes import Pending, prepare, record, write
from dsar.fanout.publishing import publish
from dsar.fanout.recipients import confirm_url
from dsar.fanout.routing import changes_for
from dsar.workflow.models import RightsRequest

log = logging.getLogger(__name__)

# A claim outlives its call by this much before the reconciler presumes the worker dead.
LEASE_MARGIN = dt.timedelta(seconds=15)
# A batch claims no task whose call might end later than this after the batch began
# (Celery's soft/hard time limits are 240/300 s).
BATCH_SECONDS = 120.0
# A claim's lease is extended before a call it might not cover with this much to spare.
RENEW_AT = dt.timedelta(seconds=5)
# Outcomes waiting for their commit are committed once their calls have taken this long.
FLUSH_SECONDS = 0.5


def lease_for(system, now: dt.datetime) -> dt.datetime:
    """Until when a claim on a task of ``system`` made at ``now`` holds."""
    return now + dt.timedelta(seconds=system.timeout_seconds) + LEASE_MARGIN


def run_tasks(task_ids: list, *, budget: float = BATCH_SECONDS) -> dict[str, str]:
    """Run one attempt of each due task nobody else runs; return each one's new status.

    A request's tasks (a group) are claimed together, just before the first call, and their
    outcomes committed together when the last returns (earlier once the calls waiting have
    taken ``FLUSH_SECONDS``); the request then moves on. A task whose system's
    ``max_attempts`` are used up fails at claim instead of running. A group whose calls might
    end after ``budget`` seconds is not claimed: it and the rest are published again (still
    pending, no attempt spent).
    """
    batch = _Batch(time.monotonic(), budget)
    groups = _by_request(_due(task_ids))
    claim = None  # the group's claim, if the last group's final commit made it
    for index, group in enumerate(groups):
        if claim is None:
            claim = batch.fit(group, first=index == 0)
            if claim is not None:
                claim.make([])
        reached = len(claim.tasks) if claim is not None else 0
        following = groups[index + 1] if index + 1 < len(groups) else None
        if reached < len(group):  # out of time: this group's rest and every later group
            following = None
        if claim is not None:
            claim = batch.run(claim, following=following)
        if reached < len(group):
            rest = [str(task.pk) for task in group[reached:]]
            rest += [str(task.pk) for later in groups[index + 1 :] for task in later]
            log.info("fan-out batch out of time; %d tasks go out again", len(rest))
            publish(rest)
            break
    return batch.statuses


def run_task(task_id) -> str:
    """Run one attempt of a task if it is due and nobody else runs it; return its status."""
    return run_tasks([task_id]).get(str(task_id), "skipped")


def _due(task_ids: list) -> list[FanoutTask]:
    """The pending ones of ``task_ids``, by request, each with its system, and each request
    read once for the batch with who filed it (a stage is one request's tasks: one request row,
    decrypted once, instead of one per task; ``keys`` reads who filed from it)."""
    tasks = list(
        FanoutTask.objects.filter(pk__in=task_ids, status=TaskStatus.PENDING)
        .select_related("system")
        .order_by("request_id", "pk")
    )
    requests = RightsRequest.objects.select_related("representation").in_bulk(
        {task.request_id for task in tasks}
    )
    for task in tasks:
        task.request = requests[task.request_id]
    return tasks


def _by_request(tasks: list[FanoutTask]) -> list[list[FanoutTask]]:
    groups: list[list[FanoutTask]] = []
    for task in tasks:
        if groups and groups[-1][0].request_id == task.request_id:
            groups[-1].append(task)
        else:
            groups.append([task])
    return groups


class _Claim:
    """The claims of a group's tasks that fit the batch's time, prepared as of now: one
    conditional move per task (``pending`` → ``running`` if it is due and nobody counted an
    attempt since it was read, one attempt more, with the group's lease), and the failures of
    those whose system's attempts are used up (``max_attempts`` holds at claim)."""

    def __init__(self, tasks: list[FanoutTask]):
        self.tasks, self.now = tasks, timezone.now()
        callable_ = [t for t in tasks if t.attempts_left]
        longest = max((t.system.timeout_seconds for t in callable_), default=0)
        self.lease = self.now + dt.timedelta(seconds=longest) + LEASE_MARGIN
        self.moves, self.exhausted, self.taken, self.failed = [], [], [], []
        for task in tasks:
            if not task.attempts_left:
                used = f"no attempts left ({task.attempts} of {task.system.max_attempts} used)"
                self.exhausted.append(
                    prepare(task, Outcome(FAILED, used), awaiting=(TaskStatus.PENDING,))
                )
                continue
            self.moves.append((task, lifecycle.Move(
                task.pk, to=TaskStatus.RUNNING, frm=frozenset({TaskStatus.PENDING}),
                fields={"updated_at": self.now, "attempts": task.attempts + 1,
                        "lease_until": self.lease},
                where={"attempts": task.attempts, "next_attempt_at__lte": self.now},
            )))  # fmt: skip

    def make(self, pendings: list[Pending], *, settle: bool = False) -> list[bool]:
        """Commit the claims (and the failures at claim) with ``pendings``, the outcomes of
        the group before; whether each of those moved."""
        claims = [move for _, move in self.moves]
        moved, took = write([*pendings, *self.exhausted], moves=claims, settle=settle)
        self.took(took)
        self.failed = [
            p for p, done in zip(self.exhausted, moved[len(pendings) :], strict=False) if done
        ]
        return moved[: len(pendings)]

    def took(self, flags: list[bool]) -> None:
        """Each claim's result: a task it took is ``running`` on the object too."""
        for (task, _), took in zip(self.moves, flags, strict=True):
            if took:
                task.status, task.updated_at, task.lease_until = (
                    TaskStatus.RUNNING, self.now, self.lease,
                )  # fmt: skip
                task.attempts += 1
                self.taken.append(task)


class _Batch:
    """One message's run: its clock, its subjects' keys (read once per request and kind of
    action) and the statuses it gave."""

    def __init__(self, began: float, budget: float):
        self.began, self.budget = began, budget
        self.keys: dict[tuple, SubjectKeys] = {}
        self.statuses: dict[str, str] = {}

    def fit(self, group: list[FanoutTask], *, first: bool) -> _Claim | None:
        """The claim of the tasks of ``group``, in order, whose calls all end within the
        batch's time even if each takes its system's whole timeout (the batch's first task
        always); None if none fits."""
        spent, fitting = time.monotonic() - self.began, []
        for task in group:
            if task.attempts_left:
                spent += task.system.timeout_seconds
            if spent > self.budget and not (first and not fitting):
                break
            fitting.append(task)
        return _Claim(fitting) if fitting else None

    def run(self, claim: _Claim, *, following: list[FanoutTask] | None) -> _Claim | None:
        """Call the group's claimed tasks in turn and commit their outcomes; the following
        group's claim (made in the final commit), or None if there is none or it does not
        fit the time left."""
        for pending in claim.failed:  # at claim: their attempts were used up
            self.statuses[str(pending.task.pk)] = pending.status
        waiting: list[Pending] = []  # outcomes not committed yet
        since = None  # when the first of those calls began
        lost = set()  # claims whose lease passed before it was extended: re-driven meanwhile
        for index, task in enumerate(claim.taken):
            now = timezone.now()
            if claim.lease < now + dt.timedelta(seconds=task.system.timeout_seconds) + RENEW_AT:
                rest = [t for t in claim.taken[index:] if t.pk not in lost]
                longest = max(t.system.timeout_seconds for t in rest)
                claim.lease = now + dt.timedelta(seconds=longest) + LEASE_MARGIN
                renewals = [lifecycle.renewal(t.pk, lease_until=claim.lease) for t in rest]
                held = self._commit(waiting, moves=renewals, settle=False)
                lost |= {t.pk for t, kept in zip(rest, held, strict=True) if not kept}
                waiting, since = [], None
            if task.pk in lost:
                continue  # the reconciler took it back; whoever runs it now records it
            began = time.monotonic()
            pending = prepare(task, _call(task, self._keys(task)))
            if pending.writes_more:  # committed with what it writes, in its own transaction
                self._commit(waiting, settle=False)
                waiting, since = [], None
                last = index == len(claim.taken) - 1
                self.statuses[str(task.pk)] = record(task, pending.outcome, settle=last).status
                continue
            waiting.append(pending)
            since = began if since is None else since
            if index < len(claim.taken) - 1 and time.monotonic() - since >= FLUSH_SECONDS:
                self._commit(waiting, settle=False)
                waiting, since = [], None
        upcoming = self.fit(following, first=False) if following else None
        if upcoming is None:
            self._commit(waiting, settle=True)
            return None
        moved = upcoming.make(waiting, settle=True)
        self._record(waiting, moved)
        return upcoming

    def _commit(self, pendings: list[Pending], *, moves=(), settle: bool) -> list[bool]:
        """Commit ``pendings`` and ``moves`` in one statement; whether each move took."""
        if not (pendings or moves):
            return []
        moved, took = write(pendings, moves=list(moves), settle=settle)
        self._record(pendings, moved)
        return took

    def _record(self, pendings: list[Pending], moved: list[bool]) -> None:
        for pending, done in zip(pendings, moved, strict=True):
            self.statuses[str(pending.task.pk)] = pending.status if done else "skipped"

    def _keys(self, task: FanoutTask) -> SubjectKeys:
        scope = (task.request_id, task.action == Action.CHECK)
        if scope not in self.keys:
            self.keys[scope] = subject_keys(task.request, action=task.action)
        return self.keys[scope]


def _call(task: FanoutTask, keys: SubjectKeys) -> Outcome:
    system = task.system
    connector = connector_for(system.kind)
    sink = exports.open_part(task) if task.action == Action.EXPORT else None
    erasing = task.action in (Action.DELETE, Action.ANONYMISE) and connector.resumes
    checkpoint = CacheCheckpoint(str(task.idempotency_key)) if erasing else None
    call = Call(
        config=system.settings,
        action=task.action,
        keys=keys,
        idempotency_key=str(task.idempotency_key),
        timeout=system.timeout_seconds,
        callback_url=callback_url(task),
        # Signed for a recipient who confirms; other kinds never send it.
        confirm_url=confirm_url(task) if connector.finishes_later == CONFIRMATION else "",
        changes=changes_for(system, task.request) if task.action == Action.CORRECT else None,
        purposes=list(task.request.purposes) if task.action == Action.RESTRICT else None,
        record_in_ledger=ledger.writer(system),
        export_to=sink,
        checkpoint=checkpoint,
    )
    try:
        outcome = connector.run(call)
    except Exception as exc:  # a connector bug must not leave the task running forever
        log.exception("connector %s crashed on task %s", system.kind, task.pk)
        outcome = Outcome(RETRY, f"connector error: {type(exc).__name__}")
    if checkpoint is not None and outcome.state != RETRY:
        checkpoint.clear()  # only an attempt cut short resumes; a staff retry starts afresh
    if sink is not None:  # the rows written as they came: sealed, or dropped if not done
        outcome = exports.settle_part(sink, outcome, done=outcome.state == DONE)
    return outcome


def callback_url(task: FanoutTask) -> str:
    """Where a system that answers 202 reports the task's result."""
    route = connector_for(task.system.kind).callback_route
    path = _callback_path(route, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return settings.DSAR_PUBLIC_BASE_URL + path.format(task=task.pk)


@functools.lru_cache(maxsize=16)
def _callback_path(route: str, urlconf: str, prefix: str) -> str:
    """The path of ``route`` for any task, with ``{task}`` where its id goes: reversed once
    per URL configuration and script prefix instead of once per call."""
    placeholder = uuid.UUID(int=0)
    path = reverse(route, args=[placeholder])
    return path.replace("{", "{{").replace("}", "}}").replace(str(placeholder), "{task}")
