"""Staff API for the registry of downstream systems (admin role): list, read, register,
change. A system's configuration (DSN, URL, shared secret) goes in and is stored encrypted;
answers name its keys, never their values."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from dsar.api.staff import StaffRole
from dsar.fanout.models import Action, DownstreamSystem, Kind
from dsar.fanout.registry import save_system


class SystemSerializer(serializers.ModelSerializer):
    config_keys = serializers.SerializerMethodField()

    class Meta:
        model = DownstreamSystem
        fields = ["id", "name", "kind", "actions", "timeout_seconds", "max_attempts", "enabled",
                  "categories", "config_keys"]  # fmt: skip

    def get_config_keys(self, obj) -> list[str]:
        return sorted(obj.settings)


class SystemInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Kind.choices)
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


class SystemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, StaffRole]
    role_actions = dict.fromkeys(("list", "retrieve", "create", "partial_update"), "systems")
    serializer_class = SystemSerializer
    queryset = DownstreamSystem.objects.order_by("name")
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=SystemInputSerializer, responses={201: SystemSerializer})
    def create(self, request):
        data = SystemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        system = save_system(user=request.user, **data.validated_data)
        return Response(SystemSerializer(system).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SystemInputSerializer(partial=True), responses=SystemSerializer)
    def partial_update(self, request, pk=None):
        data = SystemInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        system = save_system(user=request.user, system=self.get_object(), **data.validated_data)
        return Response(SystemSerializer(system).data)
