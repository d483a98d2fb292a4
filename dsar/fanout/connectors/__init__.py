"""Connectors: one module per kind of downstream system, each one ``Connector`` class.

Adding a kind is adding a module with its class and one line in ``KINDS`` below.
"""

from dsar.fanout.connectors import backup, http, notify, opendsr, sql
from dsar.fanout.connectors.base import (  # noqa: F401 (the interface, imported from here)
    ACCEPTED,
    CALLBACK,
    CONFIRMATION,
    DONE,
    FAILED,
    RETRY,
    ROTATION,
    Call,
    Connector,
    Outcome,
    SubjectKeys,
)

KINDS: dict[str, Connector] = {
    connector.kind: connector
    for connector in (sql.Sql(), http.Http(), notify.Notify(), backup.Backup(), opendsr.OpenDSR())
}


def connector_for(kind: str) -> Connector:
    return KINDS[kind]


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, connector.label) for kind, connector in KINDS.items()]


def kinds_finishing_by(way: str) -> list[str]:
    """The kinds whose accepted work finishes ``way`` (CALLBACK, CONFIRMATION, ROTATION)."""
    return [kind for kind, connector in KINDS.items() if connector.finishes_later == way]
