"""The beat's watchdog over the fan-out: the database is the truth, Celery the transport.

It re-drives tasks whose message was lost or whose claim's lease passed (their worker died:
SIGKILL, a hard time limit, a lost database connection), moves on requests whose
completion step was lost, chases systems that never called back, releases backup deletions
whose rotation has passed, and reminds third-party recipients.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F, Q
from django.utils import timezone

from dsar.fanout import lifecycle
from dsar.fanout.completion import STUCK_AFTER, complete_settled
from dsar.fanout.connectors import (
    CALLBACK,
    RETRY,
    Call,
    Outcome,
    SubjectKeys,
    connector_for,
    kinds_finishing_by,
)
from dsar.fanout.dispatch import lease_for
from dsar.fanout.ledger import release_backups
from dsar.fanout.models import FanoutTask, TaskStatus
from dsar.fanout.outcomes import record_outcome
from dsar.fanout.publishing import publish
from dsar.fanout.recipients import remind_recipients

log = logging.getLogger(__name__)


# The most due tasks one reconcile period publishes.
REDRIVE_LIMIT = 500


def reconcile(*, now: dt.datetime | None = None) -> int:
    """Beat: re-drive work whose message was lost or whose worker died mid-task; returns how
    many due tasks were published.

    A ``running`` task whose lease has passed goes back to ``pending``, due at once (the attempt
    it used stays counted; a task whose attempts are used up fails at its next claim). A
    running row without a lease (claimed before leases existed) gets ``STUCK_AFTER``. The
    due tasks go out grouped by system, one message per system's chunk, so a slow system's
    batch holds up only its own tasks.
    """
    now = now or timezone.now()
    abandoned = Q(lease_until__lt=now) | Q(
        lease_until__isnull=True, updated_at__lt=now - STUCK_AFTER
    )
    lifecycle.move(
        FanoutTask.objects.filter(abandoned),
        # Due from its claim's time (the old ``updated_at``), not from this clock's ``now``: a
        # worker whose clock is behind the beat's must still find it due.
        frm={TaskStatus.RUNNING}, to=TaskStatus.PENDING, next_attempt_at=F("updated_at"),
        updated_at=now, lease_until=None,
    )  # fmt: skip
    due = list(
        FanoutTask.objects.filter(status=TaskStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("system_id", "pk")[:REDRIVE_LIMIT]
    )
    by_system: dict[int, list[str]] = {}
    for system_id, pk in due:
        by_system.setdefault(system_id, []).append(str(pk))
    for ids in by_system.values():
        publish(ids)  # one message per chunk of one system
    complete_settled(now=now)
    chase_callbacks(now=now)
    release_backups(now=now)
    remind_recipients(now=now)
    return len(due)


def chase_callbacks(*, now: dt.datetime) -> int:
    """A system that accepted work but never called back within its ``callback_hours``
    (default 24) is chased through its kind's ``poll``: an ``http`` system gets the same
    request again — same idempotency key — until its attempts run out, then the task fails
    for staff; an ``opendsr`` processor is asked where the request stands. Returns how many
    were chased."""
    chased = 0
    waiting = FanoutTask.objects.filter(
        status=TaskStatus.WAITING, system__kind__in=kinds_finishing_by(CALLBACK)
    )
    for task in waiting.select_related("system"):
        hours = float(task.system.settings.get("callback_hours", 24))
        if now - task.updated_at < dt.timedelta(hours=hours):
            continue
        if not lifecycle.move(
            [task.pk], frm={TaskStatus.WAITING}, to=TaskStatus.RUNNING, updated_at=now,
            lease_until=lease_for(task.system, now),
        ):  # fmt: skip
            continue  # the callback arrived meanwhile
        task.refresh_from_db()
        record_outcome(task, _poll(task))
        chased += 1
    return chased


def _poll(task: FanoutTask) -> Outcome:
    system = task.system
    call = Call(
        config=system.settings, action=task.action, keys=SubjectKeys(),
        idempotency_key=str(task.idempotency_key), timeout=system.timeout_seconds,
    )  # fmt: skip
    try:
        return connector_for(system.kind).poll(call)
    except Exception as exc:  # a connector bug must not leave the task running forever
        log.exception("connector %s crashed polling task %s", system.kind, task.pk)
        return Outcome(RETRY, f"connector error: {type(exc).__name__}")
