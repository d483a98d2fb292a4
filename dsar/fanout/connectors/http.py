"""``http``: a signed JSON POST; ``200`` done, ``202`` accepted (finished by our callback).

Signature: ``X-DSAR-Signature: hex(HMAC-SHA256(secret, timestamp + "." + raw body))`` with
``X-DSAR-Timestamp``; the idempotency key travels in the body and in ``Idempotency-Key``.
Timeouts, connection errors and 5xx are retried by the engine; other 4xx fail with the reason.
"""

import hashlib
import hmac
import json
import time

import requests

from dsar.fanout.connectors import ACCEPTED, DONE, FAILED, RETRY, Outcome, SubjectKeys


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
        response = requests.post(config["url"], data=body, headers=headers, timeout=timeout)
    except requests.Timeout:
        return Outcome(RETRY, "timed out")
    except requests.ConnectionError:
        return Outcome(RETRY, "connection failed")
    if response.status_code == 200:
        return Outcome(DONE, data=_json(response))
    if response.status_code == 202:
        return Outcome(ACCEPTED)
    if response.status_code >= 500:
        return Outcome(RETRY, f"HTTP {response.status_code}")
    return Outcome(FAILED, f"HTTP {response.status_code}: {response.text[:200]}")


def _json(response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def fields(config: dict) -> set[str]:
    return set(config.get("fields", []))
