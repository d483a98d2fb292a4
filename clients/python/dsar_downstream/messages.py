"""The product's request, parsed: ``parse(body) -> DsarRequest``.

The body is a JSON object::

    {"action": "delete", "idempotency_key": "…",
     "subject": {"email": "…", "phone": "…", "account_id": "…"},
     "callback_url": "https://dsar.example/api/v1/callbacks/…/",
     "changes": [{"field": "name", "value": "…"}],   # correct only
     "cursor": "…",                                   # export, the pages after the first
     "test": true}                                    # a conformance check, not a subject

A subject key the subject has not proven is sent as an empty string. Fields we do not know
are ignored, so the product can add some without breaking us.
"""

import json
from dataclasses import dataclass, field

from dsar_downstream.errors import BadRequest

ACTIONS = ("check", "export", "delete", "correct", "close_account", "anonymise")
# Actions that only read: safe to repeat, so not remembered by the idempotency store.
READS = frozenset({"check", "export"})
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Subject:
    """Who the request is about. Empty strings for what the subject has not proven."""

    email: str = ""
    phone: str = ""
    account_id: str = ""


@dataclass(frozen=True)
class Change:
    """One accepted correction: set ``field`` to ``value``."""

    field: str
    value: str


@dataclass(frozen=True)
class DsarRequest:
    action: str
    idempotency_key: str
    subject: Subject
    callback_url: str = ""
    changes: tuple[Change, ...] = ()
    cursor: str | None = None  # None for the first page of an export
    test: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def fingerprint(self) -> dict:
        """What must be the same when the same idempotency key comes again (no cursor: the
        pages of one export share the key)."""
        return {
            "action": self.action,
            "subject": [self.subject.email, self.subject.phone, self.subject.account_id],
            "changes": [[c.field, c.value] for c in self.changes],
        }


def parse(body: bytes | str) -> DsarRequest:
    """The request in ``body``, or ``BadRequest`` (answer 400) saying what is wrong with it."""
    try:
        data = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise BadRequest("The body is not JSON (UTF-8).") from None
    if not isinstance(data, dict):
        raise BadRequest("The body is not a JSON object.")
    action = data.get("action")
    if action not in ACTIONS:
        raise BadRequest(f"Unknown action {action!r}: expected one of {', '.join(ACTIONS)}.")
    key = data.get("idempotency_key")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise BadRequest("Give idempotency_key, a non-empty string.")
    return DsarRequest(
        action=action,
        idempotency_key=key,
        subject=_subject(data.get("subject")),
        callback_url=_optional_string(data, "callback_url") or "",
        changes=_changes(data.get("changes"), required=action == "correct"),
        cursor=_optional_string(data, "cursor") or None,
        test=_flag(data.get("test", False)),
        raw=data,
    )


def _subject(value) -> Subject:
    if not isinstance(value, dict):
        raise BadRequest("Give subject, an object with email, phone and account_id.")
    keys = {}
    for name in ("email", "phone", "account_id"):
        item = value.get(name) or ""
        if not isinstance(item, str):
            raise BadRequest(f"subject.{name} is not a string.")
        keys[name] = item.strip()
    if not any(keys.values()):
        raise BadRequest("The subject names no email, phone or account_id.")
    return Subject(**keys)


def _changes(value, *, required: bool) -> tuple[Change, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise BadRequest("A correction needs changes: a list of {field, value}.")
    changes = []
    for number, item in enumerate(value):
        if not (isinstance(item, dict) and isinstance(item.get("field"), str) and item["field"]
                and isinstance(item.get("value"), str)):  # fmt: skip
            raise BadRequest(f"changes[{number}] is not {{field, value}} with string values.")
        changes.append(Change(item["field"], item["value"]))
    return tuple(changes)


def _optional_string(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} is not a string.")
    return value


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise BadRequest("test is not true or false.")
    return value
