"""Access to the keys named in settings, built once per process."""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=1)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "DSAR_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.DSAR_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt with the first configured key."""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with whichever configured key encrypted the value."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with any key in DSAR_ENCRYPTION_KEYS; "
            "was a key removed before its rows were re-encrypted?"
        ) from exc


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of an already normalised value: searchable, not reversible without the key."""
    key = settings.DSAR_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
