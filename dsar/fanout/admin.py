import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from dsar.fanout import registry
from dsar.fanout.models import DownstreamSystem, FanoutTask


class DownstreamSystemForm(forms.ModelForm):
    class Meta:
        model = DownstreamSystem
        fields = ["name", "kind", "actions", "config", "timeout_seconds", "max_attempts",
                  "enabled", "categories"]  # fmt: skip

    def clean(self):
        """The registry's rules, as for the API: a system that could never run is refused."""
        data = super().clean()
        try:
            config = json.loads(data.get("config") or "{}")
        except ValueError:
            raise ValidationError({"config": "Give the configuration as JSON."}) from None
        registry.validate(
            {"kind": data.get("kind"), "actions": data.get("actions") or [], "config": config}
        )
        return data


@admin.register(DownstreamSystem)
class DownstreamSystemAdmin(admin.ModelAdmin):
    form = DownstreamSystemForm
    list_display = ["name", "kind", "enabled", "max_attempts", "timeout_seconds"]
    list_filter = ["kind", "enabled"]


@admin.register(FanoutTask)
class FanoutTaskAdmin(admin.ModelAdmin):
    list_display = ["request", "system", "action", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "action", "system"]
    readonly_fields = [f.name for f in FanoutTask._meta.fields]

    def has_add_permission(self, request):
        return False
