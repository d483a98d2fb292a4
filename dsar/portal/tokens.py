"""Signed status tokens: the subject's key to their request's status page and actions.

A token is an HMAC signature (``django.core.signing``, keyed by ``SECRET_KEY`` and a salt of
its own) over the request id and the time it was made. It cannot be guessed, works only for
the request it was made for, and expires after ``DSAR_STATUS_TOKEN_MAX_AGE_DAYS``. Any token
that fails is answered exactly like an unknown request: 404.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.core import signing
from django.http import Http404

SALT = "dsar.portal.status-token"


class InvalidStatusToken(Http404):
    """A tampered, expired or foreign token; shown as "not found"."""


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_status_token(request) -> str:
    return _signer().sign(uuid.UUID(str(request.pk)).hex)


def read_status_token(token: str, request_id) -> uuid.UUID:
    """The request id ``token`` was made for, if that is ``request_id`` and it has not expired;
    otherwise ``InvalidStatusToken``."""
    try:
        wanted = uuid.UUID(str(request_id))
        value = _signer().unsign(
            str(token or ""), max_age=dt.timedelta(days=settings.DSAR_STATUS_TOKEN_MAX_AGE_DAYS)
        )
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidStatusToken() from exc
    if value != wanted.hex:
        raise InvalidStatusToken()
    return wanted
