"""``backup``: record the deletion in the ledger; done when the backup retention has passed.

Configuration: ``{"retention_days": 30, "restores_into": ["shop"]}`` — how long the backups
keep data, and which systems a restore of these backups brings back (``replay_deletions``
re-applies the ledger to them). Backups are never edited; the ledger itself is written by the
fan-out's ledger writer handed in with the call (``fanout.ledger``).
"""

from dsar.fanout.connectors.base import ACCEPTED, FAILED, ROTATION, Call, Connector, Outcome


class Backup(Connector):
    kind, label = "backup", "Backups (deletion ledger)"
    actions = frozenset({"delete", "anonymise", "close_account"})  # a backup is never read
    finishes_later = ROTATION

    def config_errors(self, config: dict) -> list[str]:
        days = config.get("retention_days", 30)
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            return ['Give "retention_days", how many days the backups keep data.']
        restores = config.get("restores_into", [])
        if not isinstance(restores, list) or not all(isinstance(n, str) for n in restores):
            return ['Give "restores_into" as a list of system names.']
        return []

    def run(self, call: Call) -> Outcome:
        if call.action not in self.actions:
            return Outcome(FAILED, f"Backups cannot {call.action}.")
        days = int(call.config.get("retention_days", 30))
        call.record_in_ledger(call.idempotency_key, call.keys, days)
        return Outcome(ACCEPTED, "recorded in the deletion ledger; waiting for backups to rotate")
