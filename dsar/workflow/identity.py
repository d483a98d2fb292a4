"""Normalising how a subject identifies themselves, before hashing and matching.

Two spellings of one address must give one hash: full-width characters (common with
Chinese input methods), stray spaces and letter case are folded; phones become E.164.
"""

import unicodedata

import phonenumbers
from django.conf import settings

from dsar.crypto.keys import keyed_hash


class InvalidIdentity(ValueError):
    """An email or phone that cannot be normalised; the message says what is wrong."""


def normalise_email(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value or "")
    folded = "".join(folded.split()).lower()
    local, _, domain = folded.rpartition("@")
    if not local or not domain or "." not in domain:
        raise InvalidIdentity("Enter a valid email address.")
    return folded


def normalise_phone(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value or "").strip()
    try:
        number = phonenumbers.parse(folded, settings.DSAR_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity("Enter a valid phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentity("Enter a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_hash(value: str) -> str:
    return keyed_hash("email:" + normalise_email(value)) if value else ""


def phone_hash(value: str) -> str:
    return keyed_hash("phone:" + normalise_phone(value)) if value else ""
