"""The downstream protocol's signature, written out independently of the product's code:
``X-DSAR-Signature`` is the hex HMAC-SHA256, under the system's shared secret, of the
timestamp, a dot and the raw body; ``X-DSAR-Timestamp`` carries that timestamp."""

import hashlib
import hmac
import time

SECRET = "shop-shared-secret"  # the secret of the suite's downstream HTTP peer


def signature(raw: bytes, timestamp: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


def signed_headers(raw: bytes | str, *, secret: str = SECRET, timestamp=None) -> dict:
    """The headers a downstream system with ``secret`` signs ``raw`` with (now, by default)."""
    raw = raw.encode() if isinstance(raw, str) else raw
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-DSAR-Timestamp": stamp, "X-DSAR-Signature": signature(raw, stamp, secret)}
