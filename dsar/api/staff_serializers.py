"""What the staff API answers about requests: the queue's rows and one request in full.

Read shapes only; the actions' small input serializers stay next to their views in
``dsar.api.staff``.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dsar.fanout import selectors as fanout_selectors
from dsar.legal import fees as legal_fees
from dsar.legal import selectors as legal_selectors
from dsar.legal.representation import representation_for
from dsar.sla import clock
from dsar.staff import selectors
from dsar.workflow.models import RightsRequest


class RequestListSerializer(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)
    sla_state = serializers.CharField()
    days_left = serializers.SerializerMethodField()
    due_display = serializers.SerializerMethodField()
    has_failed_tasks = serializers.BooleanField(
        help_text="Open, and a downstream task failed: retry the system (see `tasks`)."
    )

    class Meta:
        model = RightsRequest
        fields = [
            "id", "reference", "type", "status", "outcome", "sla_state", "days_left",
            "received_at", "verified_at", "due_at", "due_display", "closed_at", "assignee",
            "has_failed_tasks", "jurisdiction",
        ]  # fmt: skip

    def get_days_left(self, obj) -> int | None:
        return clock.days_left(obj, now=self.context["now"])

    def get_due_display(self, obj) -> str | None:
        """The deadline as pages show it, in the caller's language, with its time zone."""
        return clock.format_deadline(obj.due_at) if obj.due_at else None


class TimelineEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField(allow_null=True)  # null until the sequencer gives its place
    occurred_at = serializers.DateTimeField()
    actor_kind = serializers.CharField()
    actor_id = serializers.CharField()
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()


class NoteSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    author = serializers.CharField(source="author.username", default=None, read_only=True)
    body = serializers.CharField(max_length=5000)
    created_at = serializers.DateTimeField(read_only=True)


class FindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    check_name = serializers.CharField()
    severity = serializers.CharField()
    legal_reference = serializers.CharField()
    explanation = serializers.CharField()
    blocks = serializers.BooleanField()
    overridden_at = serializers.DateTimeField(allow_null=True)
    override_reason = serializers.CharField()


class StaffCorrectionSerializer(serializers.Serializer):
    """One change the subject proposed; its ``id`` is what ``decide-correction`` takes."""

    id = serializers.UUIDField()
    position = serializers.IntegerField()
    field = serializers.CharField(help_text="The field as the subject named it.")
    current_value = serializers.CharField()
    proposed_value = serializers.CharField()
    decision = serializers.CharField(help_text='"accepted", "refused", or "" while undecided.')
    target_field = serializers.CharField(help_text="The field the systems change (accepted).")
    final_value = serializers.CharField(help_text="The value the systems receive (accepted).")
    reason = serializers.CharField(help_text="Why it was refused; the subject is told.")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class PolicySerializer(serializers.Serializer):
    jurisdiction = serializers.CharField()
    length = serializers.IntegerField()
    unit = serializers.CharField()
    start_event = serializers.CharField()
    counting_rule = serializers.CharField()
    source = serializers.CharField()
    description = serializers.CharField(help_text="The policy in one line, as the page shows it.")
    ack_due_at = serializers.DateTimeField(allow_null=True)
    ack_due_display = serializers.CharField(allow_null=True)
    extension_limit = serializers.IntegerField()
    extension_unit = serializers.CharField()


class FeeSerializer(serializers.Serializer):
    """A cost fee for a repeated request, as staff see it."""

    id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    finding = serializers.IntegerField(source="finding_id", allow_null=True)
    proposed_by = serializers.CharField(source="proposed_by.username", default=None)
    proposed_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    payment_reference = serializers.CharField()
    payment_recorded_by = serializers.CharField(source="payment_recorded_by.username", default=None)
    payment_recorded_at = serializers.DateTimeField(allow_null=True)


class RepresentationSerializer(serializers.Serializer):
    """Who filed the request for its subject."""

    kind = serializers.CharField()
    representative_name = serializers.CharField()
    authority = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)
    recorded_at = serializers.DateTimeField()
    subject_confirmed_at = serializers.DateTimeField(allow_null=True)
    relationship = serializers.CharField(
        allow_blank=True, help_text="relative: the near relative who asks."
    )
    legal_review = serializers.CharField(
        allow_blank=True, help_text="relative: pending, approved or refused (empty for an agent)."
    )
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", default=None, allow_null=True
    )
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_basis = serializers.CharField(
        allow_blank=True, help_text="relative refused: the basis named."
    )
    documents = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_documents(self, obj):
        """The documents still kept (kind, type, size): deleted once legal decided."""
        return [
            {"id": str(d.pk), "kind": d.kind, "content_type": d.content_type, "size": d.size}
            for d in obj.documents.all()
            if d.purged_at is None
        ]


class RequestDetailSerializer(RequestListSerializer):
    identity = serializers.SerializerMethodField()
    verification = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()
    corrections = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    notes = NoteSerializer(many=True, read_only=True)
    policy = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    representation = serializers.SerializerMethodField()

    class Meta(RequestListSerializer.Meta):
        fields = [
            *RequestListSerializer.Meta.fields, "policy", "language", "identity", "verification",
            "findings", "corrections", "tasks", "allowed_actions", "timeline", "notes", "fee",
            "representation",
        ]  # fmt: skip

    @extend_schema_field(RepresentationSerializer(allow_null=True))
    def get_representation(self, obj):
        """Who filed the request for its subject (null when the subject filed it)."""
        found = representation_for(obj)
        return RepresentationSerializer(found).data if found else None

    @extend_schema_field(FeeSerializer(allow_null=True))
    def get_fee(self, obj):
        """The latest cost fee proposed on this request (null when none was)."""
        fee = legal_fees.latest_fee(obj)
        return FeeSerializer(fee).data if fee else None

    @extend_schema_field(PolicySerializer)
    def get_policy(self, obj):
        """The response policy fixed at intake (the DSAR_SLA_* default before policies)."""
        return PolicySerializer(clock.policy_summary(obj)).data

    def get_identity(self, obj) -> dict:
        return selectors.masked_identity(obj)

    def get_verification(self, obj) -> dict | None:
        record = selectors.verification_record(obj)
        return {k: v for k, v in record.items() if k != "labels"} if record else None

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, obj):
        return FindingSerializer(legal_selectors.findings_for(obj), many=True).data

    @extend_schema_field(StaffCorrectionSerializer(many=True))
    def get_corrections(self, obj):
        """Correction requests: the proposed changes to decide (empty for other types)."""
        return StaffCorrectionSerializer(selectors.corrections(obj), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_tasks(self, obj):
        return [
            {"system": t.system.name, "system_id": t.system_id, "action": t.action,
             "status": t.status, "attempts": t.attempts, "last_error": t.last_error,
             "next_attempt_at": t.next_attempt_at}
            for t in fanout_selectors.tasks_for(obj)
        ]  # fmt: skip

    def get_allowed_actions(self, obj) -> list[str]:
        return selectors.allowed_actions(obj, user=self.context["request"].user)

    def get_timeline(self, obj) -> list[dict]:
        return TimelineEventSerializer(selectors.timeline(obj), many=True).data
