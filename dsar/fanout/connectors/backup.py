"""``backup``: record the deletion in the ledger; done when the backup retention has passed.

Configuration: ``{"retention_days": 30, "restores_into": ["shop"]}`` — how long the backups
keep data, and which systems a restore of these backups brings back (``replay_deletions``
re-applies the ledger to them).
"""

import datetime as dt
import json

from django.utils import timezone

from dsar.fanout.connectors import ACCEPTED, FAILED, Outcome, SubjectKeys


def run(*, config: dict, action: str, keys: SubjectKeys, idempotency_key: str, timeout: int,
        system=None):  # fmt: skip
    from dsar.fanout.models import DeletionLedger

    if action not in ("delete", "anonymise", "close_account"):
        return Outcome(FAILED, f"Backups cannot {action}.")
    now = timezone.now()
    DeletionLedger.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "system": system,
            "keys": json.dumps(keys.as_params()),
            "recorded_at": now,
            "releases_at": now + dt.timedelta(days=int(config.get("retention_days", 30))),
        },
    )
    return Outcome(ACCEPTED, "recorded in the deletion ledger; waiting for backups to rotate")
