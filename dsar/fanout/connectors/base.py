"""What every connector kind is and is given: the one interface behind which the kinds live.

A connector knows nothing of requests: it is given an action, the subject's keys and an
idempotency key (a ``Call``), and answers with an ``Outcome``. A kind is one class that says
what it can do, what its configuration needs, and how its work finishes; the registry, the API
and admin validation, dispatch, replay and reminders all ask the class.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol


class RowSink(Protocol):
    def write(self, rows: list[dict]) -> None: ...


class Checkpoint(Protocol):
    def load(self) -> dict: ...

    def save(self, state: dict) -> None: ...


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
    state: str  # done | accepted (finished later) | retry | failed
    detail: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One attempt of one action on one system. Each kind reads what it needs."""

    config: dict
    action: str
    keys: SubjectKeys
    idempotency_key: str
    timeout: int
    callback_url: str = ""  # where a system that answers 202 reports back
    confirm_url: str = ""  # the signed link a third-party recipient confirms through
    changes: list[dict] | None = None  # a correction's accepted changes
    purposes: list[str] | None = None  # restrict: the purposes consent is withdrawn for
    # Writes the subject's keys to the deletion ledger: (idempotency_key, keys, retention_days).
    record_in_ledger: Callable[[str, SubjectKeys, int], None] | None = None
    # Where an export's rows go as they arrive (``dsar.exports.parts.PartWriter``: its
    # ``write(rows)`` takes a batch). A kind that streams writes there and answers no
    # ``rows``; without it (a dry run, a conformance check) the rows come back in the answer.
    export_to: RowSink | None = None
    # Where a chunked erasure records each committed chunk (``datamap.queries.Checkpoint``),
    # kept under the idempotency key: a retry after a crash resumes after the last one.
    checkpoint: Checkpoint | None = None


# How a kind's accepted work finishes: by a signed callback, a recipient's confirmation, or
# once the backups that held the subject have rotated out.
CALLBACK, CONFIRMATION, ROTATION = "callback", "confirmation", "rotation"


class Connector:
    """A kind of downstream system. Subclasses set the class attributes and ``run``."""

    kind: ClassVar[str]
    label: ClassVar[str]
    actions: ClassVar[frozenset[str]]
    # Settings naming where the system points or what it runs: changing one needs a second
    # admin (``registry``).
    guarded: ClassVar[tuple[str, ...]] = ()
    finishes_later: ClassVar[str] = ""  # "", CALLBACK, CONFIRMATION or ROTATION
    # True for a kind that checks its own erasures (reports ``{"verified": {"rows_left": 0}}``
    # only after reading the data again); the audit trail then records the proof.
    proves_erasure: ClassVar[bool] = False
    # True for a kind whose erasures record their progress in ``Call.checkpoint`` (chunked, so
    # an attempt after a crash resumes); the others are handed none, and cost no cache call.
    resumes: ClassVar[bool] = False
    # True for a kind whose systems have a schema staff discover and map (``datamaps``).
    has_data_map: ClassVar[bool] = False
    # The URL name (with the task id) a kind finishing by CALLBACK is told to report to.
    callback_route: ClassVar[str] = "fanout-callback"

    def learned(self, config: dict) -> dict:
        """Settings the kind reads from the system itself when it is registered or changed
        (an OpenDSR processor's certificate), saved with the configuration and approved with
        it; empty when there is nothing to read. Raises ``ValueError`` with a message for
        staff when the system cannot be read."""
        return {}

    def config_errors(self, config: dict) -> list[str]:
        """Messages for a configuration this kind could never run with; empty when fine."""
        return []

    def fields(self, config: dict) -> set[str]:
        """The subject fields this system can correct."""
        return set()

    def unable(self, action: str, config: dict) -> str:
        """Why a system of this kind with ``config`` cannot do ``action`` (for staff, no
        personal data); empty when it can. The plan records a skipped task with it."""
        return "" if action in self.actions else f"its kind ({self.kind}) cannot do {action}"

    def describe(self, config: dict) -> str:
        """Where the system points, without credentials (audit events, approvers)."""
        return self.kind

    def run(self, call: Call) -> Outcome:
        raise NotImplementedError

    def poll(self, call: Call) -> Outcome:
        """Chase accepted work that did not call back in time (the reconciler, with no subject
        keys in ``call``). By default the same request is sent again, same idempotency key;
        a kind whose systems can be asked where the work stands answers from that."""
        return Outcome(RETRY, "no callback received")
