"""Public API for data subjects (SPEC §7): file, verify, resend, status, withdraw, reply, and
upload identity evidence.

No login: a request's UUID (returned only to whoever filed it) opens verify and resend, its
signed status token opens everything else. The token travels in a body or, to read the status,
the ``X-Status-Token`` header: never in an address, which servers and proxies log. Answers
never say whether a subject is known. Views parse input with the serializers below, call one
service and render.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dsar.api.parsers import JSONParser
from dsar.api.sparse import SparseInputSerializer
from dsar.legal.models import Relationship
from dsar.portal import selectors, services
from dsar.portal.services import (
    CORRECTION_LENGTHS,
    MAX_CORRECTIONS,
    MAX_LENGTHS,
    RELATIVE_FIELDS,
)
from dsar.sla.models import Jurisdiction
from dsar.verification import evidence as evidence_service
from dsar.verification import services as verification
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import ConsentPurpose, RequestType, RightsRequest


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The upload is too large."


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class CorrectionSerializer(serializers.Serializer):
    field = serializers.CharField(max_length=CORRECTION_LENGTHS["field"])
    current_value = serializers.CharField(
        max_length=CORRECTION_LENGTHS["current_value"], required=False, allow_blank=True
    )
    proposed_value = serializers.CharField(max_length=CORRECTION_LENGTHS["proposed_value"])


class CreateSerializer(SparseInputSerializer):
    """Most fields are an agent's or a relative's: built only when the input has them."""

    type = serializers.ChoiceField(choices=RequestType.choices)
    # Not trimmed here: dsar.workflow.identity decides what may be dropped, and refuses the rest.
    email = serializers.CharField(
        max_length=MAX_LENGTHS["email"], required=False, allow_blank=True, trim_whitespace=False
    )
    phone = serializers.CharField(
        max_length=MAX_LENGTHS["phone"], required=False, allow_blank=True, trim_whitespace=False
    )
    full_name = serializers.CharField(
        max_length=MAX_LENGTHS["full_name"], required=False, allow_blank=True
    )
    account_id = serializers.CharField(
        max_length=MAX_LENGTHS["account_id"], required=False, allow_blank=True
    )
    description = serializers.CharField(
        max_length=MAX_LENGTHS["description"], required=False, allow_blank=True
    )
    corrections = serializers.ListField(
        child=CorrectionSerializer(), required=False, max_length=MAX_CORRECTIONS
    )
    language = serializers.ChoiceField(choices=["zh-hans", "en"], required=False)
    jurisdiction = serializers.ChoiceField(
        choices=Jurisdiction.choices,
        required=False,
        help_text="Where the subject lives; decides the response policy. Default: the "
        "platform's DSAR_DEFAULT_JURISDICTION.",
    )

    purposes = serializers.ListField(
        child=serializers.ChoiceField(choices=ConsentPurpose.choices),
        required=False,
        max_length=len(ConsentPurpose.choices),
        help_text="consent_withdrawal only (and required there): what consent is withdrawn for.",
    )

    filed_as = serializers.ChoiceField(
        choices=services.FiledAs.CHOICES,
        required=False,
        help_text="Who files: the subject (default); an authorised agent (the contact given "
        "is the subject's: the code goes there and the subject confirms the agent); or a close "
        "relative of a deceased subject (the contact given is the relative's; send "
        "multipart/form-data with the two documents; legal reviews before any work).",
    )
    agent_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    agent_authority = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    agent_permission = serializers.FileField(
        required=False, help_text="agent: the signed permission (JPEG, PNG or PDF), optional."
    )
    relationship = serializers.ChoiceField(
        choices=Relationship.choices, required=False, allow_blank=True,
        help_text="relative: the near relative (PRC Civil Code Art. 1045) who asks.",
    )  # fmt: skip
    lawful_interest = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    deceased_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    deceased_email = serializers.CharField(
        max_length=MAX_LENGTHS["email"], required=False, allow_blank=True, trim_whitespace=False
    )
    deceased_phone = serializers.CharField(
        max_length=MAX_LENGTHS["phone"], required=False, allow_blank=True, trim_whitespace=False
    )
    deceased_account_id = serializers.CharField(
        max_length=MAX_LENGTHS["account_id"], required=False, allow_blank=True
    )
    death_certificate = serializers.FileField(required=False, help_text="relative: required.")
    relationship_proof = serializers.FileField(required=False, help_text="relative: required.")

    def on_behalf(self, attrs) -> dict:
        """``filed_as`` and the agent's or relative's claim, for ``services.file_request``."""
        filed_as = attrs.get("filed_as") or services.FiledAs.SELF
        if filed_as == services.FiledAs.AGENT:
            agent = services.AgentClaim(
                name=attrs.get("agent_name", ""),
                authority=attrs.get("agent_authority", ""),
                permission=attrs.get("agent_permission"),
            )
            return {"filed_as": filed_as, "agent": agent}
        if filed_as == services.FiledAs.RELATIVE:
            relative = services.RelativeClaim(
                **{name: attrs.get(name, "") for name in RELATIVE_FIELDS},
                death_certificate=attrs.get("death_certificate"),
                relationship_proof=attrs.get("relationship_proof"),
            )
            return {"filed_as": filed_as, "relative": relative}
        return {"filed_as": filed_as}

    def validate(self, attrs):
        """One address and one mobile number, normalised as the web form does."""
        try:
            attrs["email"], attrs["phone"] = services.normalise_contact(
                email=attrs.get("email", ""), phone=attrs.get("phone", "")
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class CreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    status_token = serializers.CharField()


class FiledSerializer(CreatedSerializer):
    """``status_token`` is empty for a request an agent filed: the subject opens it from the
    messages sent to their own contact."""

    code_sent = serializers.BooleanField(
        help_text="False when the address has had its share of messages for now: nothing was "
        "sent. Confirm with the link of a recent message to the address, or resend after the "
        "resend answer's Retry-After."
    )


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)


class ReplySerializer(TokenSerializer):
    message = serializers.CharField(max_length=MAX_LENGTHS["message"])


class EvidenceUploadSerializer(TokenSerializer):
    file = serializers.FileField()


class TimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status = serializers.CharField()


class StatusSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    outcome = serializers.CharField()
    received_at = serializers.DateTimeField()
    verified_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    due_display = serializers.CharField(
        allow_null=True, help_text="The deadline as the status page shows it, with its time zone."
    )
    closed_at = serializers.DateTimeField(allow_null=True)
    can_withdraw = serializers.BooleanField()
    can_reply = serializers.BooleanField()
    timeline = TimelineSerializer(many=True)


def _created_fields(rights_request: RightsRequest, *, status_token: bool = True) -> dict:
    return {
        "id": rights_request.pk,
        "reference": rights_request.reference,
        "type": rights_request.type,
        "status": rights_request.status,
        "status_token": make_status_token(rights_request) if status_token else "",
    }


def _created(rights_request: RightsRequest) -> dict:
    return CreatedSerializer(_created_fields(rights_request)).data


def _status(rights_request: RightsRequest) -> dict:
    rights_request.refresh_from_db()
    return StatusSerializer(selectors.public_status(rights_request)).data


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def parse(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def by_token(self, pk, token) -> RightsRequest:
        return selectors.request_for_token(request_id=pk, token=token)


class RequestCreateView(PublicView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=CreateSerializer, responses={201: FiledSerializer})
    def post(self, request):
        serializer = CreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        corrections = [services.ProposedCorrection(**c) for c in data.get("corrections", [])]
        on_behalf = serializer.on_behalf(data)
        filed = services.file_request(
            type=data["type"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            full_name=data.get("full_name", ""),
            account_id=data.get("account_id", ""),
            description=data.get("description", ""),
            corrections=corrections,
            language=data.get("language") or translation.get_language(),
            jurisdiction=data.get("jurisdiction", ""),
            purposes=data.get("purposes", []),
            ip=client_ip(request),
            **on_behalf,
        )
        # An agent gets no status token: the subject follows (and confirms) their request from
        # their own messages.
        agent = on_behalf["filed_as"] == services.FiledAs.AGENT
        body = _created_fields(filed, status_token=not agent) | {"code_sent": filed.code_sent}
        return Response(FiledSerializer(body).data, status=status.HTTP_201_CREATED)


class VerifyView(PublicView):
    @extend_schema(request=CodeSerializer, responses={200: CreatedSerializer})
    def post(self, request, pk):
        data = self.parse(CodeSerializer)
        # Read once, under the row lock verify_code takes (lock() fills this instance in).
        rights_request = RightsRequest(pk=pk)
        try:
            verification.verify_code(request=rights_request, code=data["code"])
        except RightsRequest.DoesNotExist:
            raise Http404 from None
        return Response(_created(rights_request))


class ResendView(PublicView):
    @extend_schema(request=None, responses={202: dict})
    def post(self, request, pk):
        rights_request = get_object_or_404(RightsRequest, pk=pk)
        verification.resend_code(request=rights_request, ip=client_ip(request))
        return Response({"detail": "A new code is on its way."}, status=status.HTTP_202_ACCEPTED)


STATUS_TOKEN_HEADER = "X-Status-Token"


class StatusView(PublicView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                STATUS_TOKEN_HEADER, str, OpenApiParameter.HEADER, required=True,
                description="The request's status token. Never in the address: servers and "
                "proxies log addresses, so `?token=` is refused with 400.",
            )
        ],
        responses={200: StatusSerializer},
    )  # fmt: skip
    def get(self, request, pk):
        if "token" in request.query_params:
            raise serializers.ValidationError(
                {"token": [f"Send the status token in the {STATUS_TOKEN_HEADER} header, not in "
                           "the address: servers log addresses."]}
            )  # fmt: skip
        return Response(_status(self.by_token(pk, request.headers.get(STATUS_TOKEN_HEADER, ""))))


class WithdrawView(PublicView):
    @extend_schema(request=TokenSerializer, responses={200: StatusSerializer})
    def post(self, request, pk):
        rights_request = self.by_token(pk, self.parse(TokenSerializer)["token"])
        services.withdraw_request(request=rights_request)
        return Response(_status(rights_request))


class ReplyView(PublicView):
    @extend_schema(request=ReplySerializer, responses={200: StatusSerializer})
    def post(self, request, pk):
        data = self.parse(ReplySerializer)
        rights_request = self.by_token(pk, data["token"])
        services.reply_to_request(request=rights_request, message=data["message"])
        return Response(_status(rights_request))


class EvidenceView(PublicView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=EvidenceUploadSerializer, responses={201: dict})
    def post(self, request, pk):
        data = self.parse(EvidenceUploadSerializer)
        rights_request = self.by_token(pk, data["token"])
        try:
            evidence = evidence_service.submit_evidence(request=rights_request, upload=data["file"])
        except evidence_service.EvidenceTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        body = {"id": evidence.pk, "content_type": evidence.content_type, "size": evidence.size}
        return Response(body, status=status.HTTP_201_CREATED)
