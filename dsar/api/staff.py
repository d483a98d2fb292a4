"""Staff API (SPEC §7): the queue, one request, and the actions staff take on it.

Views parse input, call one service or selector and render; the role table in
``dsar.access.permissions`` decides who may do what, for the API exactly as for the pages.
"""

import uuid

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from dsar.access import permissions as roles
from dsar.api.staff_serializers import (
    FindingSerializer,
    NoteSerializer,
    RequestDetailSerializer,
    RequestListSerializer,
)
from dsar.corrections import services as corrections
from dsar.corrections.models import Correction
from dsar.fanout import rechecks
from dsar.fanout import services as fanout_services
from dsar.legal import decisions, fees, holds, relatives, representation
from dsar.legal.models import Basis, Finding, HoldKind, LegalHold
from dsar.sla import services as sla_services
from dsar.staff import hotline, inquiries, metrics, selectors, services
from dsar.staff.filters import QueueFilter
from dsar.staff.pagination import QueuePagination
from dsar.verification import services as verification_services
from dsar.verification.models import Channel
from dsar.workflow import facts
from dsar.workflow.models import RightsRequest


class StaffRole(permissions.BasePermission):
    """Authenticated staff holding a role that allows the view's action."""

    def has_permission(self, request, view):
        action_name = getattr(view, "role_actions", {}).get(getattr(view, "action", None), "view")
        return roles.can(request.user, action_name)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(allow_null=True)


class BulkAssignSerializer(AssignSerializer):
    requests = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class ApproveSerializer(serializers.Serializer):
    acknowledged = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        max_length=100,
        help_text="The ids of the request's advisory findings, each acknowledged: required for "
        "a deletion or a cancellation, which cannot be undone.",
    )


class ExtendSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=2000)


class VerifySerializer(serializers.Serializer):
    """The evidence: an upload staff reviewed, or the code the subject read back (one)."""

    evidence_id = serializers.UUIDField(required=False, allow_null=True)
    code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SendCodeSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=[Channel.EMAIL, Channel.PHONE])


class CodeSentSerializer(serializers.Serializer):
    channel = serializers.CharField()
    expires_at = serializers.DateTimeField()


class FileForCallerSerializer(serializers.Serializer):
    """A request staff file for a caller; the service checks each field (400 per field)."""

    type = serializers.CharField(max_length=32)
    channel = serializers.CharField(max_length=16, help_text="hotline, email, letter, in_person")
    caller_said = serializers.CharField(max_length=5000, allow_blank=True)
    account_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=8, required=False, default="zh-hans")
    jurisdiction = serializers.CharField(
        max_length=16, required=False, allow_blank=True, default=""
    )


class OnFileChoiceSerializer(serializers.Serializer):
    choice = serializers.CharField(max_length=64)


def _choices(choices) -> list[dict]:
    return [{"choice": digest, "contact": masked} for digest, masked in choices]


class DenySerializer(serializers.Serializer):
    basis = serializers.ChoiceField(choices=Basis.choices)
    basis_detail = serializers.CharField(max_length=500, required=False, allow_blank=True)
    explanation = serializers.CharField(max_length=5000)


class OverrideSerializer(serializers.Serializer):
    finding = serializers.IntegerField()
    reason = serializers.CharField(max_length=2000)


class HoldInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=HoldKind.choices)
    reference = serializers.CharField(max_length=100)
    reason = serializers.CharField(max_length=2000)
    ends_on = serializers.DateField(required=False, allow_null=True)


class MessageSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class RetrySerializer(serializers.Serializer):
    system = serializers.IntegerField()


class CorrectionDecisionSerializer(serializers.Serializer):
    correction = serializers.UUIDField(help_text="The `id` of one of the request's `corrections`.")
    accept = serializers.BooleanField()
    target_field = serializers.CharField(max_length=64, required=False, allow_blank=True)
    value = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class CorrectionDecidedSerializer(serializers.Serializer):
    correction = serializers.UUIDField()
    decision = serializers.CharField()


class ProposeFeeSerializer(serializers.Serializer):
    amount = serializers.CharField(max_length=20, help_text="e.g. 30.00; at most 10000.00.")
    currency = serializers.CharField(max_length=3, required=False, default="CNY")
    reason = serializers.CharField(max_length=2000, help_text="Told to the subject.")
    finding = serializers.IntegerField(
        help_text="The id of the request's `repeated_requests` finding the fee rests on."
    )


class FeePaymentSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=100, help_text="Receipt or transaction no.")
    paid_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AgentSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="The agent: a person or organisation.")
    authority = serializers.CharField(
        max_length=2000, help_text="How the agent is authorised (e.g. a signed permission)."
    )


class RelativeReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    lawful_interest = serializers.CharField(
        max_length=2000, required=False, allow_blank=True,
        help_text="approve: the relative's lawful interest legal accepts (required).",
    )  # fmt: skip
    basis = serializers.ChoiceField(
        choices=Basis.choices, required=False, help_text="refuse: the legal basis (required)."
    )
    explanation = serializers.CharField(
        max_length=5000, required=False, allow_blank=True,
        help_text="refuse: what the relative is told (required).",
    )  # fmt: skip
    basis_detail = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RecheckedSerializer(serializers.Serializer):
    asked = serializers.IntegerField(help_text="How many systems were asked for a dry run.")


class StaffRequestViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated, StaffRole]
    filterset_class = QueueFilter
    pagination_class = QueuePagination
    lookup_value_regex = "[0-9a-f-]{36}"
    role_actions = {
        "list": "view", "retrieve": "view", "claim": "claim", "assign": "assign",
        "bulk_assign": "assign", "approve": "approve", "request_info": "request_info",
        "resume": "resume", "note": "note", "reveal": "reveal", "extend": "extend",
        "verify": "verify", "send_code": "verify", "deny": "deny", "override": "override",
        "hold": "hold", "message": "message", "retry": "retry", "decide_correction": "approve",
        "recheck": "recheck", "answer": "answer", "propose_fee": "propose_fee",
        "record_fee_payment": "record_fee_payment", "record_agent": "record_agent",
        "relative_review": "review_relative",
        "create": "file_request", "on_file": "file_request", "send_on_file_code": "file_request",
    }  # fmt: skip

    def get_queryset(self):
        return selectors.queue_list(now=self._now())

    def get_serializer_class(self):
        return RequestDetailSerializer if self.action == "retrieve" else RequestListSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": self._now()}

    def _now(self):
        if not hasattr(self, "_now_value"):
            self._now_value = timezone.now()
        return self._now_value

    def get_object(self):
        """The request an action works on: the row with its assignee, without the detail's
        notes (an action's service never reads them; ``_answer`` reads the detail)."""
        if self.action == "retrieve":
            return self._detail()
        return get_object_or_404(
            selectors.queue(now=self._now()), pk=self.kwargs[self.lookup_field]
        )

    def _detail(self):
        return get_object_or_404(
            selectors.detail(now=self._now()), pk=self.kwargs[self.lookup_field]
        )

    def _pk(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.kwargs[self.lookup_field])
        except ValueError:
            raise Http404 from None

    def _answer(self, read: RightsRequest | None = None):
        """The request as it is after an action, in the detail shape (with the facts the
        action has read of ``read``, inside its ``facts.once`` block)."""
        fresh = self._detail()
        if read is not None:
            facts.share(read, fresh)
        return Response(RequestDetailSerializer(fresh, context=self.get_serializer_context()).data)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=FileForCallerSerializer, responses={201: dict})
    def create(self, request):
        """File a request for a caller (hotline, email, letter, in person). The code goes only
        to a contact a system holds for the account: ``route`` ``code`` (``sent_to``, masked),
        ``choose`` (pick one of ``choices`` with ``send-on-file-code``) or ``evidence``."""
        data = self._input(FileForCallerSerializer)
        filed = hotline.file_for_caller(user=request.user, **data)
        self.kwargs[self.lookup_field] = str(filed.request.pk)
        body = {
            "route": filed.route,
            "sent_to": filed.sent_to,
            "choices": _choices(filed.choices),
            "request": self._answer().data,
        }
        return Response(body, status=201)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"], url_path="on-file")
    def on_file(self, request, pk=None):
        """The contacts on file for a request staff filed, masked, to pick one from."""
        choices = hotline.on_file_choices(request=self.get_object(), user=request.user)
        return Response({"choices": _choices(choices)})

    @extend_schema(request=OnFileChoiceSerializer, responses={202: dict})
    @action(detail=True, methods=["post"], url_path="send-on-file-code")
    def send_on_file_code(self, request, pk=None):
        """Send the subject's code to the contact on file staff picked."""
        data = self._input(OnFileChoiceSerializer)
        sent_to = hotline.send_code(
            request=self.get_object(), user=request.user, choice=data["choice"]
        )
        return Response({"sent_to": sent_to}, status=202)

    @extend_schema(request=None, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        services.claim(request=self.get_object(), user=request.user)
        return self._answer()

    @extend_schema(request=AssignSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = self._input(AssignSerializer)
        services.assign(request=self.get_object(), user=request.user, assignee_id=data["assignee"])
        return self._answer()

    @extend_schema(request=BulkAssignSerializer, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request):
        data = self._input(BulkAssignSerializer)
        changed = services.bulk_assign(
            request_ids=data["requests"], user=request.user, assignee_id=data["assignee"]
        )
        return Response({"assigned": changed})

    @extend_schema(request=ApproveSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve fulfilment (a cancellation enters cooling-off). While an open obligation a
        downstream system reported blocks the request, that system is first asked for a fresh
        dry run: 409 with code ``recheck_pending`` until it has answered, then approve again.
        A deletion or cancellation lists each advisory finding's id in ``acknowledged``;
        without them: 400 with a message per finding under ``acknowledged``."""
        data = self._input(ApproveSerializer)
        # Read once, under the lock approve() takes; the answer reuses what the approval read.
        target = RightsRequest(pk=self._pk())
        with facts.once(target):
            try:
                services.approve(
                    request=target, user=request.user, acknowledged=data["acknowledged"]
                )
            except RightsRequest.DoesNotExist:
                raise Http404 from None
            return self._answer(read=target)

    @extend_schema(request=None, responses={202: RecheckedSerializer})
    @action(detail=True, methods=["post"])
    def recheck(self, request, pk=None):
        """Ask every downstream system for a fresh dry run (``check``); the legal checks re-run
        on the answers, so an obligation resolved downstream stops blocking."""
        asked = rechecks.recheck(request=self.get_object(), user=request.user)
        return Response(RecheckedSerializer({"asked": asked}).data, status=202)

    @extend_schema(request=ReasonSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request, pk=None):
        data = self._input(ReasonSerializer)
        services.request_info(request=self.get_object(), user=request.user, reason=data["reason"])
        return self._answer()

    @extend_schema(request=None, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        services.resume(request=self.get_object(), user=request.user)
        return self._answer()

    @extend_schema(request=SendCodeSerializer, responses={202: CodeSentSerializer})
    @action(detail=True, methods=["post"], url_path="send-code")
    def send_code(self, request, pk=None):
        """Send a code to the email or phone the subject gave, for them to read back to you."""
        data = self._input(SendCodeSerializer)
        challenge = verification_services.send_staff_code(
            request=self.get_object(), user=request.user, channel=data["channel"]
        )
        return Response(CodeSentSerializer(challenge).data, status=202)

    @extend_schema(request=VerifySerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Staff verification on evidence: accept a reviewed upload (``evidence_id``), or
        enter the code the subject read back (``code``). A reason alone is refused."""
        data = self._input(VerifySerializer)
        verification_services.verify_by_staff(
            request=self.get_object(),
            user=request.user,
            evidence_id=data.get("evidence_id"),
            code=data["code"],
            reason=data["reason"],
        )
        return self._answer()

    @extend_schema(request=DenySerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        """Refuse with a legal basis; the subject is emailed the basis, explanation and route."""
        data = self._input(DenySerializer)
        decisions.deny_request(
            request=self.get_object(),
            user=request.user,
            basis=data["basis"],
            explanation=data["explanation"],
            basis_detail=data.get("basis_detail", ""),
        )
        return self._answer()

    @extend_schema(request=OverrideSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        """Let the request go ahead despite a blocking finding (legal role, with a reason)."""
        data = self._input(OverrideSerializer)
        finding = get_object_or_404(Finding, pk=data["finding"], request=self.get_object())
        finding = decisions.override_finding(
            finding=finding, user=request.user, reason=data["reason"]
        )
        return Response(FindingSerializer(finding).data)

    @extend_schema(request=HoldInputSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        """Place a legal hold on this request's subject (legal role)."""
        data = self._input(HoldInputSerializer)
        hold = holds.place_hold_for_request(request=self.get_object(), user=request.user, **data)
        return Response({"id": str(hold.pk), "kind": hold.kind}, status=201)

    @extend_schema(request=ExtendSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        data = self._input(ExtendSerializer)
        sla_services.extend(
            request=self.get_object(), user=request.user, days=data["days"], reason=data["reason"]
        )
        return self._answer()

    @extend_schema(request=MessageSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def message(self, request, pk=None):
        """Write to the subject through their verified channel."""
        data = self._input(MessageSerializer)
        sent = services.message_subject(
            request=self.get_object(), user=request.user, body=data["body"]
        )
        return Response({"id": str(sent.pk)}, status=201)

    @extend_schema(request=MessageSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """Answer an inquiry or complaint in writing: sent to the subject; the request closes."""
        data = self._input(MessageSerializer)
        inquiries.answer(request=self.get_object(), user=request.user, body=data["body"])
        return self._answer()

    @extend_schema(request=ProposeFeeSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="propose-fee")
    def propose_fee(self, request, pk=None):
        """Propose a cost fee on a repeated request in review (it needs the request's
        ``repeated_requests`` finding): the subject is told and the clock pauses until they
        accept and the payment is recorded."""
        data = self._input(ProposeFeeSerializer)
        fees.propose_fee(request=self.get_object(), user=request.user, **data)
        return self._answer()

    @extend_schema(request=FeePaymentSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="record-fee-payment")
    def record_fee_payment(self, request, pk=None):
        """Record the payment of a fee the subject accepted: the request returns to review
        and the clock runs again."""
        data = self._input(FeePaymentSerializer)
        fees.record_payment(
            request=self.get_object(),
            user=request.user,
            reference=data["reference"],
            paid_at=data["paid_at"],
        )
        return self._answer()

    @extend_schema(request=AgentSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="record-agent")
    def record_agent(self, request, pk=None):
        """Record that an authorised agent filed this request for its subject. The subject is
        asked to confirm through the channel the request holds; until they do, nothing is
        disclosed or deleted (approval answers 409)."""
        data = self._input(AgentSerializer)
        representation.record_agent(request=self.get_object(), user=request.user, **data)
        return self._answer()

    @extend_schema(request=RelativeReviewSerializer, responses=RequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="relative-review")
    def relative_review(self, request, pk=None):
        """Legal's decision on a deceased subject's relative (PIPL Art. 49): ``approve``
        records the lawful interest and lets the request be approved for the work (refused
        with a field message when the deceased arranged otherwise); ``refuse`` denies it on
        ``basis`` and tells the relative the complaint route."""
        data = self._input(RelativeReviewSerializer)
        obj = self.get_object()
        if data["decision"] == "approve":
            relatives.approve(
                request=obj, user=request.user, lawful_interest=data.get("lawful_interest", "")
            )
        else:
            relatives.refuse(
                request=obj, user=request.user, basis=data.get("basis", ""),
                explanation=data.get("explanation", ""),
                basis_detail=data.get("basis_detail", ""),
            )  # fmt: skip
        return self._answer()

    @extend_schema(request=CorrectionDecisionSerializer, responses=CorrectionDecidedSerializer)
    @action(detail=True, methods=["post"], url_path="decide-correction")
    def decide_correction(self, request, pk=None):
        """Accept (as proposed or edited) or refuse one proposed correction, named by its
        ``id`` in the request's ``corrections``."""
        data = self._input(CorrectionDecisionSerializer)
        item = get_object_or_404(Correction, pk=data["correction"], request=self.get_object())
        item = corrections.decide(
            correction=item, user=request.user, accept=data["accept"],
            target_field=data.get("target_field", ""), value=data.get("value", ""),
            reason=data.get("reason", ""),
        )  # fmt: skip
        return Response({"correction": str(item.pk), "decision": item.decision})

    @extend_schema(request=RetrySerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Run one downstream system's failed tasks of this request again."""
        data = self._input(RetrySerializer)
        count = fanout_services.retry(
            request=self.get_object(), user=request.user, system_id=data["system"]
        )
        return Response({"retried": count})

    @extend_schema(request=NoteSerializer, responses={201: NoteSerializer})
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        data = self._input(NoteSerializer)
        note = services.add_note(request=self.get_object(), user=request.user, body=data["body"])
        return Response(NoteSerializer(note).data, status=201)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        return Response(services.reveal_identity(request=self.get_object(), user=request.user))


class MetricsView(APIView):
    """Dashboard figures: open requests, weekly SLA compliance, time to close, yearly table."""

    permission_classes = [permissions.IsAuthenticated, StaffRole]
    role_actions = {None: "metrics"}

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response(metrics.dashboard(now=timezone.now()))


class HoldSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    reference = serializers.CharField()
    ends_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    lifted_at = serializers.DateTimeField(allow_null=True)


class LiftSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class HoldViewSet(viewsets.ReadOnlyModelViewSet):
    """Legal holds (legal role): list them, and lift one with a reason."""

    permission_classes = [permissions.IsAuthenticated, StaffRole]
    role_actions = {"list": "hold", "retrieve": "hold", "lift": "hold"}
    serializer_class = HoldSerializer
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self):
        return LegalHold.objects.order_by("-created_at")

    @extend_schema(request=LiftSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def lift(self, request, pk=None):
        data = LiftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = holds.lift_hold(
            hold=self.get_object(), user=request.user, reason=data.validated_data["reason"]
        )
        return Response(HoldSerializer(hold).data)
