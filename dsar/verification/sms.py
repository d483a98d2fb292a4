"""Text messages: the +86 mobile check and the backends that deliver a message.

The product ships no SMS gateway; the default ``file`` backend writes each message as a JSON
file under ``DSAR_SMS_DIR`` (var/sms/), ``console`` prints it. A gateway is one more class with
the same ``send`` method.
"""

import json
import sys
import uuid
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.workflow import identity
from dsar.workflow.identity import InvalidIdentity


def normalise_cn_mobile(value: str) -> str:
    """A mainland China mobile number in E.164 (+861…); anything else raises InvalidIdentity.

    The number is read by ``dsar.workflow.identity.parse_phone``, the one phone normaliser,
    and then must be a +86 mobile: codes go by SMS only to those.
    """
    try:
        number = identity.parse_phone(value, region="CN")
    except identity.InvisibleCharacters:
        raise
    except InvalidIdentity as exc:
        raise InvalidIdentity(_("Enter a mainland China mobile number (+86).")) from exc
    mobile_types = {phonenumbers.PhoneNumberType.MOBILE}
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in mobile_types
    ):
        raise InvalidIdentity(_("Enter a mainland China mobile number (+86)."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class FileBackend:
    """Writes one JSON file per message; tests and the demo read them back."""

    def __init__(self, directory: str | None = None):
        self.directory = Path(directory or settings.DSAR_SMS_DIR)

    def send(self, *, to: str, text: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.json"
        message = {"to": to, "text": text, "at": timezone.now().isoformat()}
        (self.directory / name).write_text(json.dumps(message, ensure_ascii=False))


class ConsoleBackend:
    """Prints messages to standard output (development only; not a log)."""

    def send(self, *, to: str, text: str) -> None:
        sys.stdout.write(f"SMS to {to}:\n{text}\n")


def backend():
    return ConsoleBackend() if settings.DSAR_SMS_BACKEND == "console" else FileBackend()
