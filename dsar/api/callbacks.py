"""Downstream callbacks: a system that answered 202 reports the end of its work here.

``POST /api/v1/callbacks/<task_id>/`` with ``X-DSAR-Timestamp`` and ``X-DSAR-Signature`` =
hex HMAC-SHA256(system secret, timestamp + "." + raw body) (the ``secret``, or one of the
``previous_secrets`` kept during a key rotation), body
``{"idempotency_key": "…", "status": "done" | "failed", "detail": "…"}``.
A bad signature or a stale timestamp → 401, and so is any callback for a system without a
secret (anyone could sign with an empty key); a key of another task, or a task that is not
waiting (a replay) → 409. None of them changes anything. A callback that overtakes our own
recording of the 202 (the task still ``running``) is accepted.
"""

import logging
import time

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dsar.api.errors import Conflict
from dsar.api.parsers import parse_json
from dsar.fanout import conformance, outcomes
from dsar.fanout.connectors import http
from dsar.fanout.models import FanoutTask

MAX_SKEW_SECONDS = http.MAX_SKEW_SECONDS
log = logging.getLogger(__name__)


class CallbackSerializer(serializers.Serializer):
    idempotency_key = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["done", "failed"])
    detail = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CallbackView(APIView):
    authentication_classes: list = []  # the HMAC signature is the authentication
    permission_classes = [AllowAny]

    @extend_schema(
        request=CallbackSerializer,
        responses={200: dict, 401: OpenApiResponse(description="bad signature or timestamp")},
    )
    def post(self, request, task_id):
        raw = request.body
        task = FanoutTask.objects.select_related("system").filter(pk=task_id).first()
        if task is None:
            raise exceptions.NotFound()
        self._authenticate(request, task, raw)
        data = CallbackSerializer(data=parse_json(raw))
        data.is_valid(raise_exception=True)
        if str(data.validated_data["idempotency_key"]) != str(task.idempotency_key):
            raise Conflict("This callback is for another task.")
        if task.status not in outcomes.CALLBACK_AWAITING:
            raise Conflict("This task is not waiting for a callback.")
        status = outcomes.accept_callback(
            task=task,
            ok=data.validated_data["status"] == "done",
            detail=data.validated_data.get("detail", ""),
        )
        if status is None:
            raise Conflict("This task is not waiting for a callback.")
        return Response({"task": str(task.pk), "status": status})

    def get_authenticate_header(self, request):
        return 'DSAR-HMAC realm="callbacks"'  # makes refusals 401, not 403

    def _authenticate(self, request, task, raw: bytes) -> None:
        timestamp = request.headers.get("X-DSAR-Timestamp", "")
        signature = request.headers.get("X-DSAR-Signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
            raise exceptions.AuthenticationFailed("Missing or stale timestamp.")
        config = task.system.settings
        if not http.callback_secrets(config):
            # Anyone can sign with an empty key: such a system can never prove a callback.
            log.warning("callback refused: system %s has no secret", task.system_id)
            raise exceptions.AuthenticationFailed("Bad signature.")
        if not http.signed_by(config, timestamp, signature, raw):
            raise exceptions.AuthenticationFailed("Bad signature.")


_REFUSALS = {
    401: exceptions.AuthenticationFailed("Bad signature or stale timestamp."),
    400: exceptions.ValidationError(
        {"non_field_errors": ["The callback does not fit the protocol."]}
    ),
    404: exceptions.NotFound("No such conformance run, or it is over."),
    409: Conflict("This callback names an idempotency key the run did not send."),
}


class ConformanceCallbackView(APIView):
    """Where a system under a conformance check calls back (``dsar.fanout.conformance``):
    answered as the real callback endpoint answers, and kept for the waiting run to judge."""

    authentication_classes: list = []  # the HMAC signature is the authentication
    permission_classes = [AllowAny]

    @extend_schema(
        request=CallbackSerializer,
        responses={
            200: dict,
            400: OpenApiResponse(description="the body does not fit the protocol"),
            401: OpenApiResponse(description="bad signature or timestamp"),
            404: OpenApiResponse(description="no such conformance run"),
            409: OpenApiResponse(description="an idempotency key the run did not send"),
        },
    )
    def post(self, request, run_id):
        status = conformance.receive_callback(
            run_id=str(run_id),
            timestamp=request.headers.get("X-DSAR-Timestamp", ""),
            signature=request.headers.get("X-DSAR-Signature", ""),
            raw=request.body,
        )
        if status != 200:
            raise _REFUSALS[status]
        return Response({"received": True})

    def get_authenticate_header(self, request):
        return 'DSAR-HMAC realm="callbacks"'
