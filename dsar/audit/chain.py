"""Hash arithmetic of the chain: pure functions, shared by appending, sequencing and verifying.

Two keyed digests (HMAC-SHA256 with ``DSAR_AUDIT_KEY``; keyed so that someone with write access
to the database alone cannot compute them):

- an event's **own digest**, over its own fields, written with the event in the caller's
  transaction: an edit is detectable before the event has a place in the chain;
- its **link**, written by the sequencer, over the previous link, the event's sequence number
  and its own digest: a deleted, reordered or inserted event breaks the chain from there on.

Events written before the sequencer (``digest`` empty) carry the earlier scheme's single digest,
over the previous hash and the fields with the sequence number (:func:`legacy_digest`).
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64


def _hmac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _canonical(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def own_fields(
    *,
    uid,
    occurred_at: datetime,
    actor_kind: str,
    actor_id: str,
    action: str,
    request_id,
    from_status: str,
    to_status: str,
    payload: dict,
) -> dict:
    """The fields an event's own digest covers, in a form that survives a database round trip.

    ``uid`` (unique per event) makes a copied row a different event: a replayed copy cannot
    keep both a new uid and a valid digest.
    """
    return {
        "uid": str(uid) if uid else None,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "action": action,
        "request_id": str(request_id) if request_id else None,
        "from_status": from_status,
        "to_status": to_status,
        "payload": payload,
    }


def own_digest(*, key: str, fields: dict) -> str:
    """The event's own digest: HMAC over its canonical fields (no place in the chain)."""
    return _hmac(key, "event\n" + _canonical(fields))


def link_hash(*, key: str, prev_hash: str, seq: int, digest: str) -> str:
    """The event's link in the chain: HMAC over the previous link, its place and its digest."""
    return _hmac(key, f"link\n{prev_hash}\n{seq}\n{digest}")


def legacy_digest(*, key: str, prev_hash: str, fields: dict, seq: int) -> str:
    """The digest of an event written before the sequencer: HMAC over the previous hash and the
    fields with the sequence number (its uid is None and not part of it)."""
    legacy = {k: v for k, v in fields.items() if k != "uid"}
    return _hmac(key, prev_hash + "\n" + _canonical({**legacy, "seq": seq}))
