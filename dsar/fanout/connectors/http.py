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

from dsar.fanout.connectors import ACCEPTED, DONE, FAILED, RETRY, Outcome, SubjectKeys

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
    text = response.data[:200].decode("utf-8", "replace")
    return Outcome(FAILED, f"HTTP {response.status}: {text}")


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
