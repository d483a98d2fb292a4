"""The domain error of the legal part: bad input to one of its services."""

from django.core.exceptions import ValidationError


class LegalInputError(ValidationError):
    """Input a legal service cannot accept; field messages say what to fix. Nothing was
    written. The API answers it with 400 (it is a Django ``ValidationError``)."""

    @classmethod
    def on(cls, field: str, message: str) -> "LegalInputError":
        return cls({field: [message]})
