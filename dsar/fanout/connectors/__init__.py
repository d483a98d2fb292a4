"""Connectors: one module per kind of downstream system, behind one small interface.

A connector knows nothing of requests: it is given an action, the subject's keys and an
idempotency key, and answers with an ``Outcome``.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SubjectKeys:
    """The verified identity to act on; never anything a later input typed."""

    email: str = ""
    phone: str = ""
    account_id: str = ""

    def as_params(self) -> dict:
        return {"email": self.email, "phone": self.phone, "account_id": self.account_id}


DONE, ACCEPTED, RETRY, FAILED = "done", "accepted", "retry", "failed"


@dataclass(frozen=True)
class Outcome:
    state: str  # done | accepted (finished later by callback) | retry | failed
    detail: str = ""
    data: dict = field(default_factory=dict)


def connector_for(kind: str):
    from dsar.fanout.connectors import backup, http, notify, sql

    return {"sql": sql.run, "http": http.run, "backup": backup.run, "notify": notify.run}[kind]
