"""Which emails and phones the registered systems hold for an account: the lookup behind a
request staff file for a caller (``dsar.staff.hotline``).

Each enabled system that answers a dry run (``check``) is asked with what the caller claimed:
the account id alone when one was given (so a contact counts only when the system ties it to
that account), else the claimed email or phone. The answers are read the way a dry run's are
(``email``/``emails``, ``phone``/``phones`` in its rows), normalised by
``dsar.workflow.identity`` and returned with their keyed hashes; they are never stored or
logged, and a caller sees them only masked (``mask``). A system that does not answer is
counted in ``unanswered`` and named nowhere else.
"""

import uuid
from dataclasses import dataclass

from dsar.fanout.connectors import DONE, Call, SubjectKeys, connector_for
from dsar.fanout.models import Action, DownstreamSystem
from dsar.verification.sms import normalise_cn_mobile
from dsar.workflow import identity

EMAIL, PHONE = "email", "phone"


@dataclass(frozen=True)
class OnFile:
    """One contact a system holds: ``kind`` is ``email`` or ``phone`` (a +86 mobile)."""

    kind: str
    value: str
    digest: str

    @property
    def masked(self) -> str:
        return mask(self.kind, self.value)


@dataclass(frozen=True)
class Lookup:
    contacts: tuple[OnFile, ...]
    asked: int
    unanswered: int


def mask(kind: str, value: str) -> str:
    """A contact as staff may see it: ``138****5678``, ``z***@example.com``."""
    if kind == PHONE:
        national = value.removeprefix("+86")
        return f"{national[:3]}****{national[-4:]}"
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def on_file(*, account_id: str = "", email: str = "", phone: str = "") -> Lookup:
    """The contacts the systems hold for the account (or for the claimed contact)."""
    keys = (
        SubjectKeys(account_id=account_id) if account_id else SubjectKeys(email=email, phone=phone)
    )
    systems = [
        s
        for s in DownstreamSystem.objects.runnable().order_by("name")
        if Action.CHECK in (s.actions or []) and s.kind in ("sql", "http")
    ]
    found: dict[str, OnFile] = {}
    unanswered = 0
    for system in systems:
        outcome = connector_for(system.kind).run(
            Call(
                config=system.settings,
                action=Action.CHECK,
                keys=keys,
                idempotency_key=f"contacts-{uuid.uuid4()}",
                timeout=system.timeout_seconds,
            )
        )
        if outcome.state != DONE:
            unanswered += 1
            continue
        for contact in _contacts(outcome.data):
            found.setdefault(contact.digest, contact)
    return Lookup(contacts=tuple(found.values()), asked=len(systems), unanswered=unanswered)


def _contacts(data) -> list[OnFile]:
    if not isinstance(data, dict):
        return []
    rows = data.get("rows") or [data]
    contacts = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        emails = [row.get("email"), *(row.get("emails") or [])]
        phones = [row.get("phone"), *(row.get("phones") or [])]
        for value in filter(None, emails):
            try:
                value = identity.normalise_email(str(value))
            except identity.InvalidIdentity:
                continue  # a malformed address downstream proves nothing
            contacts.append(OnFile(EMAIL, value, identity.email_hash(value)))
        for value in filter(None, phones):
            try:
                value = normalise_cn_mobile(str(value))  # a code goes by SMS to +86 mobiles only
            except identity.InvalidIdentity:
                continue
            contacts.append(OnFile(PHONE, value, identity.phone_hash(value)))
    return contacts
