"""Answer a DSAR product's downstream protocol (v1): verify its signatures, parse its
requests, act once per idempotency key, answer as it expects and sign the callbacks.

A service writes a ``Handler`` ("find, export, delete this subject's rows") and serves it with
``wsgi_app(handler, secret)`` or ``django_view(handler, secret)``. See README.md.
"""

from dsar_downstream.callbacks import DONE, FAILED, send_callback, sign_callback
from dsar_downstream.endpoint import Endpoint
from dsar_downstream.errors import (
    BadRequest,
    BadSignature,
    CallbackFailed,
    KeyConflict,
    ProtocolError,
    Refuse,
    TryLater,
)
from dsar_downstream.handler import Handler, Page, accepted, later
from dsar_downstream.idempotency import KeyStore, MemoryStore, SqliteStore
from dsar_downstream.messages import ACTIONS, Change, DsarRequest, Subject, parse
from dsar_downstream.signatures import sign, signed_headers, verify
from dsar_downstream.wsgi import make_server, wsgi_app


def django_view(handler, secret, **options):
    """The Django view helper (imported here lazily: Django is needed only for it)."""
    from dsar_downstream.django import django_view as view

    return view(handler, secret, **options)


__all__ = [
    "ACTIONS", "DONE", "FAILED", "BadRequest", "BadSignature", "CallbackFailed", "Change",
    "DsarRequest", "Endpoint", "Handler", "KeyConflict", "KeyStore", "MemoryStore", "Page",
    "ProtocolError", "Refuse", "SqliteStore", "Subject", "TryLater", "accepted",
    "django_view", "later", "make_server", "parse", "send_callback", "sign", "sign_callback",
    "signed_headers", "verify", "wsgi_app",
]  # fmt: skip
