"""Staff API for the registry of downstream systems (admin role): list, read, register,
change, and approve or reject another admin's change. A system's configuration (DSN, URL,
shared secret) goes in and is stored encrypted; answers name its keys, never their values. A
pending change shows what the approver needs to judge it: where it points (no credentials)
and the SQL it would run."""

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from dsar.api.staff import StaffRole
from dsar.fanout import datamaps, destinations, registry
from dsar.fanout.connectors import connector_for, kind_choices
from dsar.fanout.models import Action, DataMapVersion, Discovery, DownstreamSystem

PendingChange = inline_serializer(
    "PendingSystemChange",
    {
        "proposed_by": serializers.CharField(allow_null=True),
        "proposed_at": serializers.DateTimeField(allow_null=True),
        "destination": serializers.CharField(),
        "statements": serializers.DictField(),
        "statements_digest": serializers.CharField(),
        "map": serializers.DictField(allow_null=True),
        "map_digest": serializers.CharField(),
    },
    allow_null=True,
)


class SystemSerializer(serializers.ModelSerializer):
    config_keys = serializers.SerializerMethodField()
    approved = serializers.SerializerMethodField()
    destination = serializers.SerializerMethodField()
    pending_change = serializers.SerializerMethodField()

    class Meta:
        model = DownstreamSystem
        fields = [
            *("id", "name", "kind", "actions", "timeout_seconds", "max_attempts", "enabled"),
            *("categories", "config_keys", "approved", "destination", "pending_change"),
        ]

    def get_config_keys(self, obj) -> list[str]:
        return sorted(obj.settings)

    def get_approved(self, obj) -> bool:
        return obj.approved_at is not None

    def get_destination(self, obj) -> str:
        return connector_for(obj.kind).describe(obj.settings)

    @extend_schema_field(PendingChange)
    def get_pending_change(self, obj) -> dict | None:
        if not obj.awaits_approval:
            return None
        config = obj.pending_settings or obj.settings
        return {
            "proposed_by": obj.pending_by.get_username() if obj.pending_by else None,
            "proposed_at": obj.pending_at,
            "destination": connector_for(obj.kind).describe(config),
            "statements": config.get("statements") or {},
            "statements_digest": destinations.statements_digest(config),
            "map": config.get("map"),
            "map_digest": registry.digest(config["map"]) if "map" in config else "",
        }


class SystemInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=kind_choices())
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=Action.choices), allow_empty=False, max_length=6
    )
    config = serializers.DictField(help_text="dsn/statements, url/secret, recipient, … per kind")
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=300, required=False)
    max_attempts = serializers.IntegerField(min_value=1, max_value=20, required=False)
    enabled = serializers.BooleanField(required=False)
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=50, required=False
    )


class DiscoverInput(serializers.Serializer):
    sample_size = serializers.IntegerField(
        min_value=1, max_value=datamaps.MAX_SAMPLE_SIZE, required=False
    )


class DecideInput(serializers.Serializer):
    decisions = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, max_length=2000
    )


class DiscoverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Discovery
        fields = ["id", "run_at", "schema", "proposals", "references"]


class CoverageSerializer(serializers.Serializer):
    discovered_at = serializers.DateTimeField(allow_null=True)
    uncovered = serializers.ListField(child=serializers.DictField())


class MapVersionSerializer(serializers.ModelSerializer):
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DataMapVersion
        fields = ["number", "digest", "document", "proposed_by", "approved_by", "created_at"]


class SystemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, StaffRole]
    role_actions = dict.fromkeys(
        ("list", "retrieve", "create", "partial_update", "approve", "reject", "discover",
         "discovery", "decide", "propose_map", "coverage", "map_versions"),
        "systems",
    )  # fmt: skip
    serializer_class = SystemSerializer
    queryset = DownstreamSystem.objects.select_related("pending_by").order_by("name")
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=SystemInputSerializer, responses={201: SystemSerializer})
    def create(self, request):
        data = SystemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        system = registry.save_system(user=request.user, **data.validated_data)
        return Response(SystemSerializer(system).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SystemInputSerializer(partial=True), responses=SystemSerializer)
    def partial_update(self, request, pk=None):
        data = SystemInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        system = registry.save_system(
            user=request.user, system=self.get_object(), **data.validated_data
        )
        return Response(SystemSerializer(system).data)

    @extend_schema(request=None, responses=SystemSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Put another admin's proposed change (or new system) to work."""
        system = registry.approve_change(user=request.user, system=self.get_object())
        return Response(SystemSerializer(system).data)

    @extend_schema(request=None, responses=SystemSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Drop a proposed change; the approved configuration keeps running."""
        system = registry.reject_change(user=request.user, system=self.get_object())
        return Response(SystemSerializer(system).data)

    @extend_schema(request=DiscoverInput, responses={201: DiscoverySerializer})
    @action(detail=True, methods=["post"])
    def discover(self, request, pk=None):
        """Read the system's schema, sample values, and propose its personal columns (the
        values themselves are never stored or returned)."""
        data = DiscoverInput(data=request.data)
        data.is_valid(raise_exception=True)
        found = datamaps.run_discovery(
            user=request.user, system=self.get_object(), **data.validated_data
        )
        return Response(DiscoverySerializer(found).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=DiscoverySerializer)
    @action(detail=True, methods=["get"])
    def discovery(self, request, pk=None):
        """The latest discovery with staff's decisions so far."""
        found = datamaps.latest_discovery(self.get_object())
        if found is None:
            raise NotFound("No discovery has run for this system.")
        return Response(DiscoverySerializer(found).data)

    @extend_schema(request=DecideInput, responses=DiscoverySerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Accept (optionally changing identity, category or policy) or reject proposals."""
        data = DecideInput(data=request.data)
        data.is_valid(raise_exception=True)
        found = datamaps.latest_discovery(self.get_object())
        if found is None:
            raise NotFound("No discovery has run for this system.")
        found = datamaps.decide(user=request.user, discovery=found, **data.validated_data)
        return Response(DiscoverySerializer(found).data)

    @extend_schema(request=None, responses=SystemSerializer)
    @action(detail=True, methods=["post"], url_path="propose-map")
    def propose_map(self, request, pk=None):
        """Propose the map drafted from the accepted proposals; a second admin approves it."""
        system = datamaps.propose_map(user=request.user, system=self.get_object())
        return Response(SystemSerializer(system).data)

    @extend_schema(request=None, responses=CoverageSerializer)
    @action(detail=True, methods=["get"])
    def coverage(self, request, pk=None):
        """Personal columns discovery found that the running map does not cover."""
        return Response(CoverageSerializer(datamaps.coverage(self.get_object())).data)

    @extend_schema(request=None, responses=MapVersionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="map-versions")
    def map_versions(self, request, pk=None):
        """Every map the system has run with, newest first."""
        versions = self.get_object().map_versions.select_related("proposed_by", "approved_by")
        return Response(MapVersionSerializer(versions, many=True).data)
