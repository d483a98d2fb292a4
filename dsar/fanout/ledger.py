"""The deletion ledger of ``backup`` systems: written for a deletion, released after the
backups rotate, replayed after a restore."""

import datetime as dt
import json

from django.utils import timezone

from dsar.audit.services import Actor, record_event
from dsar.fanout.connectors import DONE, ROTATION, Call, SubjectKeys, connector_for
from dsar.fanout.connectors import kinds_finishing_by as kinds
from dsar.fanout.models import Action, DeletionLedger, DownstreamSystem, FanoutTask, TaskStatus
from dsar.fanout.outcomes import accept_callback


def writer(system: DownstreamSystem):
    """The ledger writer a backup connector is handed: records a deletion once per key."""

    def record(idempotency_key: str, keys: SubjectKeys, retention_days: int) -> None:
        now = timezone.now()
        DeletionLedger.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "system": system,
                "keys": json.dumps(keys.as_params()),
                "recorded_at": now,
                "releases_at": now + dt.timedelta(days=retention_days),
            },
        )

    return record


def release_backups(*, now: dt.datetime) -> int:
    """Finish backup tasks whose retention window has passed: no backup holds the subject."""
    released = DeletionLedger.objects.filter(releases_at__lte=now).values("idempotency_key")
    waiting = FanoutTask.objects.filter(
        status=TaskStatus.WAITING, system__kind__in=kinds(ROTATION), idempotency_key__in=released
    )
    count = 0
    for task in waiting.select_related("system"):
        if accept_callback(task=task, ok=True, detail="backups rotated"):
            record_event(
                action="fanout.backup_rotated",
                actor=Actor.system("fanout"),
                request_id=task.request_id,
                payload={"task": str(task.pk), "system": task.system.name},
            )
            count += 1
    return count


def replay_deletions(*, since: dt.datetime) -> int:
    """Re-apply every ledger entry recorded since ``since`` to the systems the backups feed.

    Run after restoring a backup: subjects deleted after it was taken come back with it and
    are deleted again, with the idempotency key of the original deletion.
    """
    replayed = 0
    for entry in DeletionLedger.objects.filter(recorded_at__gte=since).select_related("system"):
        keys = SubjectKeys(**json.loads(entry.keys))
        for name in entry.system.settings.get("restores_into", []):
            target = DownstreamSystem.objects.runnable().filter(name=name).first()
            if target is None or not target.supports(Action.DELETE):
                continue
            call = Call(
                config=target.settings, action=Action.DELETE, keys=keys,
                idempotency_key=str(entry.idempotency_key), timeout=target.timeout_seconds,
            )  # fmt: skip
            outcome = connector_for(target.kind).run(call)
            if outcome.state != DONE:
                raise RuntimeError(f"replay on {target.name} failed: {outcome.detail}")
            replayed += 1
    record_event(
        action="fanout.replayed",
        actor=Actor.system("replay_deletions"),
        payload={"since": since.isoformat(), "applied": replayed},
    )
    return replayed


def purge_released(*, now: dt.datetime, keep_days: int) -> int:
    """Ledger entries whose backups rotated out more than ``keep_days`` ago are not needed."""
    cutoff = now - dt.timedelta(days=keep_days)
    return DeletionLedger.objects.filter(releases_at__lt=cutoff).delete()[0]
