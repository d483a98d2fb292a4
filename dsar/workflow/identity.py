"""The one place where an email address or phone number typed by a subject becomes an identity.

Everything that takes an address from outside (the portal form, the public API, corrections
of a contact, legal holds, staff search, downstream reports) calls ``normalise_email`` or
``normalise_phone`` and then uses only the value returned: for storing, hashing, counting the
per-address limits, sending, and the keys sent downstream. Two spellings of one address give
one value; anything that is not exactly one address is refused, never trimmed into one.

- Compatibility forms are folded (NFKC): full-width letters and digits from Chinese input
  methods become ASCII. Spaces around the value are dropped; spaces inside it are refused.
- Invisible and control characters (zero-width spaces and joiners, word joiner, byte-order
  mark, soft hyphen, CR, LF, …) are refused: they would make a second identity that looks
  the same, or a header.
- An email is exactly one addr-spec, checked by ``email-validator``: no display name, comment,
  group, list, quoted or bracketed part, no trailing dot. Its domain is IDNA-encoded, so
  ``例子.中国`` and ``xn--fsqu00a.xn--fiqs8s`` are one identity, and every part is lower-cased
  (the product has always folded the local part's case too: mailboxes that differ only by
  case are one person in practice, and a per-address limit must not be dodged by case).
  Local parts are ASCII: our mail path does not speak SMTPUTF8.
- A phone number is digits with ``+``, spaces, dashes, dots or brackets, parsed by
  ``phonenumbers`` and returned in E.164; extensions, letters and junk around it are refused.
"""

import unicodedata

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from email_validator import EmailNotValidError, validate_email

from dsar import calls
from dsar.crypto.keys import keyed_hash

# Unicode categories no address may contain: controls, format characters (U+200B..U+200D,
# U+2060, U+FEFF, U+00AD, bidi marks, …), line and paragraph separators, surrogates and
# private use.
REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"}
PHONE_CHARACTERS = set("0123456789+-.() ")

INVISIBLE = _(
    "This contains an invisible or control character (often picked up by copying and "
    "pasting). Type it in again."
)
BAD_EMAIL = _(
    "Enter a valid email address. Give one address such as name@example.com, with no name, "
    "comment or second address around it."
)
BAD_PHONE = _("Enter a valid phone number.")


class InvalidIdentity(ValueError):
    """An email or phone that cannot be normalised; the message says what is wrong."""


class InvisibleCharacters(InvalidIdentity):
    """The value holds an invisible or control character (refused whatever else it holds)."""


def _folded(value: str) -> str:
    """NFKC form without surrounding spaces; refuses invisible and control characters."""
    value = value or ""
    for text in (value, unicodedata.normalize("NFKC", value)):
        if any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in text):
            raise InvisibleCharacters(INVISIBLE)
    return unicodedata.normalize("NFKC", value).strip(" ")


def normalise_email(value: str) -> str:
    """The one spelling of the single address in ``value``; ``InvalidIdentity`` otherwise.

    Worked out once per HTTP request for a value (``calls.once``): the form, the service and
    the writer of a request each normalise the address they are given."""
    return calls.once(("normalise_email", value), lambda: _normalise_email(value))


def _normalise_email(value: str) -> str:
    folded = _folded(value)
    try:
        checked = validate_email(
            folded,
            check_deliverability=False,  # no DNS at intake: same answer, same time for everyone
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as exc:
        raise InvalidIdentity(BAD_EMAIL) from exc
    return checked.ascii_email.lower()


def parse_phone(value: str, *, region: str | None = None) -> phonenumbers.PhoneNumber:
    """A valid phone number written only with digits and ``+ - . ( )`` and spaces."""
    folded = _folded(value)
    if not folded or not set(folded) <= PHONE_CHARACTERS or "+" in folded.lstrip("(")[1:]:
        raise InvalidIdentity(BAD_PHONE)
    try:
        number = phonenumbers.parse(folded, region or settings.DSAR_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(BAD_PHONE) from exc
    if number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidIdentity(BAD_PHONE)
    return number


def normalise_phone(value: str) -> str:
    """The number in ``value`` in E.164 (``+8613800138000``); ``InvalidIdentity`` otherwise.
    Worked out once per HTTP request for a value, as ``normalise_email``."""
    region = settings.DSAR_PHONE_REGION
    return calls.once(
        ("normalise_phone", value, region),
        lambda: phonenumbers.format_number(
            parse_phone(value, region=region), phonenumbers.PhoneNumberFormat.E164
        ),
    )


def email_hash(value: str) -> str:
    return keyed_hash("email:" + normalise_email(value)) if value else ""


def phone_hash(value: str) -> str:
    return keyed_hash("phone:" + normalise_phone(value)) if value else ""
