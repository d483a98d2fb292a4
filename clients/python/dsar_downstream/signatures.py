"""The signature both sides put on every message.

``X-DSAR-Signature: hex(HMAC-SHA256(secret, timestamp + "." + raw body))`` with the Unix time
in ``X-DSAR-Timestamp``. The product signs its requests this way and checks our callbacks the
same way; a timestamp more than five minutes away from our clock is refused, so a captured
message cannot be replayed later.
"""

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

from dsar_downstream.errors import BadSignature

TIMESTAMP, SIGNATURE = "X-DSAR-Timestamp", "X-DSAR-Signature"
MAX_SKEW_SECONDS = 300

Secrets = str | Iterable[str]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex signature of ``body`` sent at ``timestamp`` (a string of Unix seconds)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The headers that go with ``body``: content type, timestamp and signature."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json",
        TIMESTAMP: timestamp,
        SIGNATURE: sign(secret, timestamp, body),
    }


def secret_list(secret: Secrets) -> list[str]:
    """One secret or several (the current one first, then those being rotated out)."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise ValueError("Give the shared secret: a non-empty string, or a list of them.")
    return secrets


def verify(
    secret: Secrets,
    headers: Mapping[str, str],
    body: bytes,
    *,
    max_skew: int = MAX_SKEW_SECONDS,
    now: float | None = None,
) -> str:
    """Check that ``body`` was signed by the product, recently; return the secret that matched.

    ``secret`` may be a list while a secret is rotated: the new and the old one both verify.
    Raises ``BadSignature`` (answer 401) for a missing, stale or wrong signature. Every
    secret is compared, in constant time, so the answer's timing tells nothing.
    """
    secrets = secret_list(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP.lower(), "")
    signature = lowered.get(SIGNATURE.lower(), "")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise BadSignature("Missing or malformed X-DSAR-Timestamp.")
    if abs((time.time() if now is None else now) - int(timestamp)) > max_skew:
        raise BadSignature("Stale X-DSAR-Timestamp: check this machine's clock.")
    if isinstance(body, str):
        body = body.encode()
    given = signature.encode()  # bytes: a non-ASCII header must not raise, only fail
    matched = None
    for candidate in secrets:  # no early exit: the time taken does not say which matched
        if hmac.compare_digest(sign(candidate, timestamp, body).encode(), given):
            matched = matched or candidate
    if matched is None:
        raise BadSignature("Bad X-DSAR-Signature.")
    return matched
