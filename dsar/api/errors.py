"""One error shape for every API answer that is not a success (SPEC §7):

    {"error": {"code": "validation_error", "message": "…", "fields": {"email": ["…"]}}}

``fields`` is present only for input errors. Domain errors map to status codes here, so views
never build error bodies by hand: the domain ``Conflict`` (``TransitionError`` and the
other state conflicts) 409, ``Unavailable`` 503 with ``Retry-After``, a failed code 400 on
``code``, ``PermissionDenied`` 403 (with the refusal's own ``code`` when it has one),
``RateLimited`` 429, Django's ``ValidationError`` 400.

An outage (the database or Redis cannot be reached, ``OUTAGES``) is 503 ``unavailable`` with
``Retry-After``, whether it happens in a DRF view (``handle``) or anywhere else under
``/api/`` (``OutageMiddleware``); and nothing under ``/api/`` answers an HTML page, not even
an unexpected error (``server_error``, the project's ``handler500``).
"""

import logging
import sys

import kombu.exceptions
import redis.exceptions
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_redis.exceptions import ConnectionInterrupted
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from dsar.verification.limits import RateLimited
from dsar.verification.services import VerificationFailed
from dsar.workflow.errors import Conflict as DomainConflict
from dsar.workflow.errors import Unavailable

log = logging.getLogger(__name__)

# What an unreachable database, cache or broker raises: worth asking again shortly.
OUTAGES = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionInterrupted,
    kombu.exceptions.OperationalError,
)
OUTAGE_RETRY_AFTER = "10"  # seconds; a database restart or a Redis failover takes a few
API_PREFIX = "/api/"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request is not in a state that allows this."


def _message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict):
        return "Some fields are invalid."
    return str(detail)


def _outage_body() -> dict:
    message = _("The service is briefly unavailable. Try again in a few seconds.")
    return {"error": {"code": "unavailable", "message": message}}


def _log_outage(exc) -> None:
    # The class and the driver's message name the part that failed, never a subject.
    log.warning("outage under /api/: %s: %s", type(exc).__name__, exc)


def outage_response(exc) -> JsonResponse:
    _log_outage(exc)
    response = JsonResponse(_outage_body(), status=503)
    response["Retry-After"] = OUTAGE_RETRY_AFTER
    return response


class OutageMiddleware:
    """Under ``/api/``: an outage raised outside a DRF view's own handling (a view that is not
    DRF's, a commit after it) answers 503 JSON as it does inside one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if request.path.startswith(API_PREFIX) and isinstance(exc, OUTAGES):
            return outage_response(exc)
        return None


def server_error(request, *args, **kwargs):
    """``handler500``: the error shape under ``/api/`` (503 when the error was an outage),
    Django's page elsewhere. Django calls it while handling the exception."""
    if not request.path.startswith(API_PREFIX):
        return defaults.server_error(request, *args, **kwargs)
    exc = sys.exc_info()[1]
    if isinstance(exc, OUTAGES):
        return outage_response(exc)
    message = _("Something went wrong on our side. Try again later.")
    return JsonResponse({"error": {"code": "server_error", "message": message}}, status=500)


def handle(exc, context):
    unavailable = False
    if isinstance(exc, OUTAGES):
        _log_outage(exc)
        return Response(_outage_body(), status=503, headers={"Retry-After": OUTAGE_RETRY_AFTER})
    if isinstance(exc, DomainConflict):
        # A conflict may name its kind (``code``), e.g. a re-check the approval waits for.
        exc = Conflict(str(exc), code=getattr(exc, "code", None))
    elif isinstance(exc, Unavailable):
        exc = exceptions.APIException(str(exc))
        exc.status_code, exc.default_code = status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable"
        unavailable = True
    elif isinstance(exc, VerificationFailed):  # a wrong, used or locked code
        exc = exceptions.ValidationError({"code": [str(exc)]})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        # A domain refusal may name its rule (``code``), e.g. separation of duties.
        exc = exceptions.PermissionDenied(str(exc) or None, code=getattr(exc, "code", None))
    elif isinstance(exc, RateLimited):
        exc = exceptions.Throttled(wait=exc.retry_after, detail=str(exc))
    elif isinstance(exc, DjangoValidationError):
        # Services raise Django's ValidationError (field dict or message list) for bad input.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handling (and logging) applies
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    body = {"code": getattr(exc, "default_code", "error"), "message": _message(detail)}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "validation_error"
        if isinstance(detail, dict):
            body["fields"] = {
                k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
            }
            non_field = body["fields"].pop("non_field_errors", None)
            if non_field:
                body["message"] = non_field[0]
    elif isinstance(exc, exceptions.APIException):
        body["code"] = exc.get_codes() if isinstance(exc.get_codes(), str) else body["code"]
    headers = dict(response.headers)
    if unavailable:
        headers["Retry-After"] = "30"
    return Response({"error": body}, status=response.status_code, headers=headers)
