"""Where identity evidence is kept: ``STORAGES["evidence"]`` (file system or S3).

Each upload is one file holding a single Fernet token of the document (at most
``DSAR_EVIDENCE_MAX_BYTES``, so read whole), encrypted before it leaves the process: the
storage never sees a document in clear. Keys rotate as every ``EncryptedTextField`` does.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from dsar.crypto.keys import fernet

STORAGE_ALIAS = "evidence"


def storage() -> Storage:
    return storages[STORAGE_ALIAS]


class EvidenceFileStorage(FileSystemStorage):
    """The file-system evidence storage: ``DSAR_EVIDENCE_DIR`` (read when used), owner-only."""

    def __init__(self, **options):
        options = {"directory_permissions_mode": 0o700, "file_permissions_mode": 0o600, **options}
        super().__init__(**options)

    @property
    def base_location(self):
        return self._location or settings.DSAR_EVIDENCE_DIR

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def name_for(request_id, evidence_id) -> str:
    return f"{request_id}/{evidence_id}.enc"


def seal(name: str, data: bytes) -> str:
    """Store ``data`` encrypted under ``name``; the stored name."""
    return storage().save(name, ContentFile(fernet().encrypt(data)))


def unseal(name: str) -> bytes:
    """The document stored under ``name``; empty when there is none (purged)."""
    if not name or not storage().exists(name):
        return b""
    with storage().open(name, "rb") as handle:
        return fernet().decrypt(handle.read())


def delete(names) -> None:
    """Delete the stored files of ``names`` (a missing one is already gone)."""
    for name in names:
        if name:
            storage().delete(name)
