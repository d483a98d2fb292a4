"""Signed status tokens: the subject's key to their request's status page and actions.

A token is an HMAC signature (``django.core.signing``, keyed by ``SECRET_KEY`` and a salt of
its own) over the request id and the time it was made. It cannot be guessed, works only for
the request it was made for, and expires after ``DSAR_STATUS_TOKEN_MAX_AGE_DAYS``. Any token
that fails is answered exactly like an unknown request: 404.

A token never travels in an address: emails carry it in the link's fragment, the portal trades
it (in a POST body) for a page key cookie, and the API takes it in a header or a body.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.urls import reverse

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


# --- The page key: what a browser holds once it has shown a status token ------------------
# The token from an email is exchanged (POST) for this cookie, so the pages of one request are
# opened by a cookie, never by an address a server would log. It is scoped to that request's
# pages, HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it along),
# Secure wherever the session cookie is, and lives DSAR_STATUS_COOKIE_MINUTES from the last
# page this browser opened.
COOKIE = "dsar_request"
COOKIE_SALT = "dsar.portal.status-cookie"


def _pages_path(request_id) -> str:
    return reverse("portal:status", kwargs={"pk": request_id})


def keep_open(response, request_id) -> None:
    """Let the browser that gets ``response`` open the pages of ``request_id`` for the next
    DSAR_STATUS_COOKIE_MINUTES; every page it opens moves that window on."""
    minutes = settings.DSAR_STATUS_COOKIE_MINUTES
    response.set_cookie(
        COOKIE,
        signing.TimestampSigner(salt=COOKIE_SALT).sign(uuid.UUID(str(request_id)).hex),
        max_age=minutes * 60,
        path=_pages_path(request_id),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def opened_request_id(http_request, request_id) -> uuid.UUID | None:
    """``request_id`` if the browser's page key opens it and is still fresh, else None."""
    try:
        wanted = uuid.UUID(str(request_id))
        value = signing.TimestampSigner(salt=COOKIE_SALT).unsign(
            http_request.COOKIES.get(COOKIE, ""),
            max_age=dt.timedelta(minutes=settings.DSAR_STATUS_COOKIE_MINUTES),
        )
    except (signing.BadSignature, ValueError):
        return None
    return wanted if value == wanted.hex else None
