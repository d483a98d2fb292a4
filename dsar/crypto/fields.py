"""Model fields whose values are encrypted before they reach the database."""

from django.db import models

from dsar.crypto import keys


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token.

    Encrypted values cannot be filtered or sorted in the database; store a keyed hash beside
    the field when it must be searched (see ``keys.keyed_hash``). Empty strings are stored as
    empty strings so "not given" stays distinguishable without decrypting.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return keys.encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return keys.decrypt(value)
