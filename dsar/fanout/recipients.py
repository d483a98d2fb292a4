"""Third-party recipients (``notify`` systems): the signed confirmation link and reminders.

A recipient's task waits (``waiting``) until they confirm through the link; the reconciler
reminds them every ``reminder_days`` and fails the task for staff after ``cutoff_days``.
"""

import datetime as dt

from django.core import signing
from django.urls import reverse

from dsar.fanout import lifecycle
from dsar.fanout.connectors import (
    CONFIRMATION,
    FAILED,
    Call,
    Outcome,
    connector_for,
    kinds_finishing_by,
)
from dsar.fanout.keys import subject_keys
from dsar.fanout.models import FanoutTask, TaskStatus
from dsar.fanout.outcomes import record_outcome
from dsar.notifications.links import emailed_link

CONFIRM_SALT = "dsar.fanout.notify-confirm"


def confirm_token(task: FanoutTask) -> str:
    return signing.dumps({"task": str(task.pk)}, salt=CONFIRM_SALT)


def task_for_confirm_token(token: str) -> FanoutTask | None:
    """The notify task a recipient's link names, or None for a forged or garbled link."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT)
    except signing.BadSignature:
        return None
    return FanoutTask.objects.select_related("system").filter(pk=data.get("task")).first()


def confirm_url(task: FanoutTask) -> str:
    """The recipient's confirmation page, the signed token in the fragment."""
    return emailed_link(reverse("fanout-confirm"), t=confirm_token(task))


def remind_recipients(*, now: dt.datetime) -> int:
    """Remind third parties who have not confirmed; fail the task after the cutoff."""
    reminded = 0
    waiting = FanoutTask.objects.filter(
        status=TaskStatus.WAITING, system__kind__in=kinds_finishing_by(CONFIRMATION)
    )
    for task in waiting.select_related("system", "request"):
        config = task.system.settings
        if now - task.created_at >= dt.timedelta(days=int(config.get("cutoff_days", 14))):
            if lifecycle.move([task.pk], frm={TaskStatus.WAITING}, to=TaskStatus.RUNNING):
                record_outcome(task, Outcome(FAILED, "the recipient did not confirm in time"))
            continue
        last = dt.datetime.fromisoformat(
            task.result.get("reminded_at", task.created_at.isoformat())
        )
        if now - last >= dt.timedelta(days=int(config.get("reminder_days", 3))):
            connector_for(task.system.kind).run(
                Call(
                    config=config, action=task.action,
                    keys=subject_keys(task.request, action=task.action),
                    idempotency_key=str(task.idempotency_key), timeout=0,
                    confirm_url=confirm_url(task),
                )
            )  # fmt: skip
            reminders = task.result.get("reminders", 0) + 1
            FanoutTask.objects.filter(pk=task.pk).update(
                result={**task.result, "reminders": reminders, "reminded_at": now.isoformat()}
            )
            reminded += 1
    return reminded
