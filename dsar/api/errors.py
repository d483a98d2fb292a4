"""One error shape for every API answer that is not a success (SPEC §7):

    {"error": {"code": "validation_error", "message": "…", "fields": {"email": ["…"]}}}

``fields`` is present only for input errors. Domain errors map to status codes here, so views
never build error bodies by hand: the domain ``Conflict`` (``TransitionError`` and the
other state conflicts) 409, ``Unavailable`` 503 with ``Retry-After``, a failed code 400 on
``code``, ``PermissionDenied`` 403 (with the refusal's own ``code`` when it has one),
``RateLimited`` 429, Django's ``ValidationError`` 400.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from dsar.verification.limits import RateLimited
from dsar.verification.services import VerificationFailed
from dsar.workflow.errors import Conflict as DomainConflict
from dsar.workflow.errors import Unavailable


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


def handle(exc, context):
    unavailable = False
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
