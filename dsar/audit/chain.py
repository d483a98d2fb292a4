"""Hash arithmetic of the chain: pure functions, shared by appending and verifying."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64


def event_digest(*, key: str, prev_hash: str, fields: dict) -> str:
    """HMAC-SHA256 over the previous hash and a canonical encoding of the event's fields.

    Keyed so that someone with write access to the database alone cannot rebuild a
    consistent chain after editing it.
    """
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = (prev_hash + "\n" + canonical).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def event_fields(
    *,
    seq: int,
    occurred_at: datetime,
    actor_kind: str,
    actor_id: str,
    action: str,
    request_id,
    from_status: str,
    to_status: str,
    payload: dict,
) -> dict:
    """The fields covered by the digest, in a form that survives a database round trip."""
    return {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "action": action,
        "request_id": str(request_id) if request_id else None,
        "from_status": from_status,
        "to_status": to_status,
        "payload": payload,
    }
