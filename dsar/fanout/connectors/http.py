"""``http``: a signed JSON POST; ``200`` done, ``202`` accepted (finished by our callback).

Signature: ``X-DSAR-Signature: hex(HMAC-SHA256(secret, timestamp + "." + raw body))`` with
``X-DSAR-Timestamp``; the idempotency key travels in the body and in ``Idempotency-Key``.
A ``200`` is done only if its JSON body echoes the key (``"idempotency_key"``).
Timeouts, connection errors and 5xx are retried by the engine; other 4xx fail with the reason.
"""

import hashlib
import hmac
import json
import time

import urllib3
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from dsar.fanout import destinations
from dsar.fanout.connectors.base import (
    ACCEPTED,
    CALLBACK,
    DONE,
    FAILED,
    RETRY,
    Call,
    Connector,
    Outcome,
    SubjectKeys,
)

# One pool per worker process, safe across threads: connections to a system are kept alive
# from one task to the next. No retries or redirects here: the engine owns retrying (with its
# backoff and attempt count), and a signed request must not be replayed to another address.
# Proxies are not read from the environment; downstream systems are called directly.
_pool = urllib3.PoolManager(retries=False, maxsize=4)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def run(
    *,
    config: dict,
    action: str,
    keys: SubjectKeys,
    idempotency_key: str,
    timeout: int,
    callback_url: str = "",
    changes: list[dict] | None = None,
):
    message = {
        "action": action,
        "idempotency_key": idempotency_key,
        "subject": keys.as_params(),
        "callback_url": callback_url,
    }
    if changes is not None:
        message["changes"] = changes
    try:
        destinations.require_url(config.get("url") or "")
    except destinations.Refused as exc:
        return Outcome(FAILED, f"refused: {exc}")
    body = json.dumps(message, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "X-DSAR-Timestamp": timestamp,
        "X-DSAR-Signature": sign(config["secret"], timestamp, body),
    }
    try:
        response = _pool.request(
            "POST", config["url"], body=body, headers=headers, timeout=float(timeout)
        )
    except urllib3.exceptions.NewConnectionError:  # refused or unreachable (a subclass of
        return Outcome(RETRY, "connection failed")  # the timeout error, so caught first)
    except urllib3.exceptions.TimeoutError:
        return Outcome(RETRY, "timed out")
    except urllib3.exceptions.HTTPError:  # reset, DNS, TLS: try again later
        return Outcome(RETRY, "connection failed")
    if response.status == 200:
        return _answered(_json(response.data), idempotency_key)
    if response.status == 202:
        return Outcome(ACCEPTED)
    if response.status >= 500:
        return Outcome(RETRY, f"HTTP {response.status}")
    return Outcome(FAILED, f"HTTP {response.status}; {excerpt(response.data)}")


def excerpt(raw: bytes, limit: int = 80) -> str:
    """A downstream's own words, bounded and labelled as theirs: shown to staff as a hint,
    never taken for our own message (control characters and markup-bearing quotes dropped)."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    text = "".join(c for c in text if c.isprintable() and c not in '<>"`')[:limit]
    return f'the system answered (unverified): "{text}"' if text else "no explanation given"


def _answered(data: dict, idempotency_key: str) -> Outcome:
    """A 200 is done only when its body names the key we sent: a wrong URL, a default page
    or a stub answers 200 to anything, and a mixed-up answer may be about another request.

    The body, not the ``Idempotency-Key`` header: a gateway may echo request headers without
    the service behind it having done anything. Failed rather than retried: a peer that does
    not echo the key will not start doing so by itself, and retrying would hide that from
    staff for the whole backoff; once it is fixed, staff retry with the same key, which the
    peer acts on once.
    """
    echoed = data.get("idempotency_key")
    if echoed == idempotency_key:
        return Outcome(DONE, data=data)
    if echoed is None:
        return Outcome(FAILED, "HTTP 200 without our idempotency key: not taken as done")
    return Outcome(FAILED, "HTTP 200 for another idempotency key: not taken as done")


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:  # also UnicodeDecodeError
        return {}
    return data if isinstance(data, dict) else {}


def fields(config: dict) -> set[str]:
    return set(config.get("fields", []))


class Http(Connector):
    kind, label = "http", "HTTP service"
    actions = frozenset({"check", "delete", "export", "correct", "anonymise", "close_account"})
    # The secret too: whoever holds it can sign "done" callbacks for the system's tasks.
    guarded = ("url", "secret")
    finishes_later = CALLBACK

    def config_errors(self, config: dict) -> list[str]:
        try:
            URLValidator(schemes=["http", "https"])(config.get("url") or "")
        except ValidationError:
            return ['Give "url", the http(s) address we POST to.']
        if not isinstance(config.get("secret"), str) or len(config["secret"]) < 16:
            return ['Give "secret", at least 16 characters, shared for the signatures.']
        try:
            destinations.require_url(config["url"])
        except destinations.Refused as exc:
            return [str(exc)]
        return []

    def fields(self, config: dict) -> set[str]:
        return fields(config)

    def describe(self, config: dict) -> str:
        return destinations.describe_url(config.get("url") or "")

    def run(self, call: Call) -> Outcome:
        return run(
            config=call.config, action=call.action, keys=call.keys,
            idempotency_key=call.idempotency_key, timeout=call.timeout,
            callback_url=call.callback_url, changes=call.changes,
        )  # fmt: skip
