"""Text-message backends: what delivers an SMS the outbox queued.

The product ships no SMS gateway; the default ``file`` backend writes each message as a JSON
file under ``DSAR_SMS_DIR`` (var/sms/), ``console`` prints it. A gateway is one more class with
the same ``send`` method. Only ``dsar.notifications.delivery`` calls a backend: every text,
a verification code or a notice, is an outbox row first.
"""

import itertools
import json
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

# Orders the files one process writes within the same instant (time may be frozen in tests).
_sequence = itertools.count()


class FileBackend:
    """Writes one JSON file per message, named so they sort in the order they were sent;
    tests and the demo read them back."""

    def __init__(self, directory: str | None = None):
        self.directory = Path(directory or settings.DSAR_SMS_DIR)

    def send(self, *, to: str, text: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = timezone.now()
        name = f"{now:%Y%m%dT%H%M%S%f}-{next(_sequence):08d}-{uuid.uuid4().hex[:8]}.json"
        message = {"to": to, "text": text, "at": now.isoformat()}
        (self.directory / name).write_text(json.dumps(message, ensure_ascii=False))


class ConsoleBackend:
    """Prints messages to standard output (development only; not a log)."""

    def send(self, *, to: str, text: str) -> None:
        sys.stdout.write(f"SMS to {to}:\n{text}\n")


def backend():
    return ConsoleBackend() if settings.DSAR_SMS_BACKEND == "console" else FileBackend()
