"""Files kept encrypted in the export storage, written and read as streams.

A sealed file is a run of Fernet tokens, one per ``BLOCK`` bytes of plain text (the last may
be shorter), each on its own line. Every full block's token has the same length, so the
block holding any plain-text offset is found without reading what comes before it: a
download resumed with ``Range`` decrypts only from there. Memory stays at one block whatever
the file's size; keys rotate as every ``EncryptedTextField`` does (``keys.fernet()``).
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from collections.abc import Iterator

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from dsar.crypto import keys

BLOCK = 256 * 1024  # plain-text bytes per token
STORAGE_ALIAS = "exports"


def storage() -> Storage:
    """The configured export storage (``STORAGES["exports"]``: file system or S3)."""
    return storages[STORAGE_ALIAS]


class ExportFileStorage(FileSystemStorage):
    """The file-system export storage: ``DSAR_EXPORT_DIR`` (read when used), owner-only."""

    def __init__(self, **options):
        options = {"directory_permissions_mode": 0o700, "file_permissions_mode": 0o600, **options}
        super().__init__(**options)

    @property
    def base_location(self):
        return self._location or settings.DSAR_EXPORT_DIR

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def token_length(plain: int) -> int:
    """The length of a Fernet token of ``plain`` bytes: version, time, IV, the AES-CBC
    ciphertext padded to 16 bytes and the HMAC, base64-encoded."""
    raw = 1 + 8 + 16 + (plain // 16 + 1) * 16 + 32
    return len(base64.urlsafe_b64encode(b"\0" * raw))


class SealedWriter(io.RawIOBase):
    """A write-only stream whose bytes are encrypted block by block into a temporary file,
    then saved to the storage by :meth:`save`. ``zipfile`` writes to it as to any stream."""

    def __init__(self, block: int = BLOCK):
        super().__init__()
        self.block = block
        self._pending = bytearray()
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by save/close)
        self.size = 0  # plain-text bytes written

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size

    def write(self, data) -> int:
        self._pending += data
        self.size += len(data)
        while len(self._pending) >= self.block:
            self._seal(bytes(self._pending[: self.block]))
            del self._pending[: self.block]
        return len(data)

    def _seal(self, plain: bytes) -> None:
        self._out.write(keys.fernet().encrypt(plain) + b"\n")

    def read_back(self) -> Iterator[bytes]:
        """The plain bytes written so far, block by block (a spool: encrypted on disk)."""
        if self._pending:
            self._seal(bytes(self._pending))
            self._pending.clear()
        self._out.seek(0)
        for line in self._out:
            yield keys.fernet().decrypt(line.strip())

    def save(self, name: str) -> str:
        """Encrypt what is left and store the whole under ``name``; the stored name."""
        if self._pending:
            self._seal(bytes(self._pending))
            self._pending.clear()
        self._out.seek(0)
        try:
            return storage().save(name, File(self._out, name=name))
        finally:
            self._out.close()

    def close(self) -> None:
        self._out.close()
        super().close()


def seal_bytes(name: str, data: bytes) -> str:
    """Store a small text (an export part's chunk) sealed; the stored name."""
    writer = SealedWriter()
    writer.write(data)
    return writer.save(name)


def open_bytes(name: str) -> bytes:
    """The plain text of a small sealed file."""
    with storage().open(name, "rb") as handle:
        return b"".join(keys.fernet().decrypt(line.strip()) for line in handle if line.strip())


def read_range(name: str, *, start: int, end: int, block: int = BLOCK) -> Iterator[bytes]:
    """The plain bytes ``start`` to ``end`` (exclusive) of a sealed file, block by block."""
    line = token_length(block) + 1
    first = start // block
    with storage().open(name, "rb") as handle:
        handle.seek(first * line)
        position = first * block
        while position < end:
            token = handle.read(line).strip()
            if not token:
                return
            plain = keys.fernet().decrypt(token)
            lo, hi = max(start - position, 0), min(end - position, len(plain))
            if lo < hi:
                yield plain[lo:hi]
            position += len(plain)
