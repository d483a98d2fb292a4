"""OpenDSR status callbacks: a processor reports where one of our requests stands.

``POST /api/v1/callbacks/<task_id>/opendsr/`` (the ``status_callback_urls`` entry we sent with
the request) with ``X-OpenGDPR-Processor-Domain`` (the host of the system's URL) and
``X-OpenGDPR-Signature`` (base64 signature of the raw body by the key of the certificate pinned
for the system), body ``{"subject_request_id", "request_status": "pending" | "in_progress" |
"completed" | "cancelled", "status_callback_url", "expected_completion_time"?, …}``.

The signature is checked before the body is read: a missing or bad one, or another domain,
is 403 (as the protocol asks); an unknown task, or one that is no OpenDSR system's, 404; a
body that is no status, 400; a status of another request, or sent to another address, or for a
task that no longer waits, 409. None of them changes anything. ``completed`` finishes the task,
``cancelled`` fails it, ``pending`` and ``in_progress`` are noted on it (audited) and it keeps
waiting. The protocol's callbacks carry no timestamp: a replayed one can only repeat what the
processor really said about this request.
"""

import logging

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dsar.api.errors import Conflict
from dsar.api.parsers import parse_json
from dsar.fanout import outcomes
from dsar.fanout.connectors import DONE, FAILED, opendsr
from dsar.fanout.dispatch import callback_url
from dsar.fanout.models import FanoutTask

log = logging.getLogger(__name__)


class OpenDSRStatusSerializer(serializers.Serializer):
    subject_request_id = serializers.UUIDField()
    request_status = serializers.ChoiceField(choices=opendsr.STATUSES)
    status_callback_url = serializers.CharField(max_length=2000)
    expected_completion_time = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True
    )


class OpenDSRCallbackView(APIView):
    authentication_classes: list = []  # the processor's signature is the authentication
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenDSRStatusSerializer,
        responses={200: dict, 403: OpenApiResponse(description="bad signature or domain")},
    )
    def post(self, request, task_id):
        raw = request.body
        task = (
            FanoutTask.objects.select_related("system")
            .filter(pk=task_id, system__kind=opendsr.OpenDSR.kind)
            .first()
        )
        if task is None:
            raise exceptions.NotFound()
        config = task.system.settings
        self._authenticate(request, task, config, raw)
        data = OpenDSRStatusSerializer(data=parse_json(raw))
        data.is_valid(raise_exception=True)
        status = data.validated_data
        if str(status["subject_request_id"]) != str(task.idempotency_key):
            raise Conflict("This status is for another request.")
        if status["status_callback_url"] != callback_url(task):
            raise Conflict("This status was sent to another address.")
        outcome = opendsr.status_outcome(status, action=task.action)
        if outcome.state in (DONE, FAILED):
            result = outcomes.accept_callback(
                task=task, ok=outcome.state == DONE, detail=outcome.detail, data=outcome.data
            )
        else:
            noted = outcomes.record_progress(task=task, detail=outcome.detail)
            result = task.status if noted else None
        if result is None:
            raise Conflict("This task is not waiting for a status.")
        return Response({"task": str(task.pk), "status": result})

    def _authenticate(self, request, task, config: dict, raw: bytes) -> None:
        claimed = request.headers.get(opendsr.DOMAIN_HEADER, "").strip().lower()
        if not claimed or claimed != opendsr.domain(config):
            log.warning("opendsr callback refused for task %s: another domain", task.pk)
            raise exceptions.PermissionDenied("Not the processor's domain.")
        try:
            opendsr.verify(config, raw, request.headers.get(opendsr.SIGNATURE_HEADER, ""))
        except opendsr.Unverified:
            log.warning("opendsr callback refused for task %s: bad signature", task.pk)
            raise exceptions.PermissionDenied("Bad signature.") from None
