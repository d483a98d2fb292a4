from django.contrib import admin

from dsar.fanout.models import DownstreamSystem, FanoutTask


@admin.register(DownstreamSystem)
class DownstreamSystemAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled", "max_attempts", "timeout_seconds"]
    list_filter = ["kind", "enabled"]


@admin.register(FanoutTask)
class FanoutTaskAdmin(admin.ModelAdmin):
    list_display = ["request", "system", "action", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "action", "system"]
    readonly_fields = [f.name for f in FanoutTask._meta.fields]

    def has_add_permission(self, request):
        return False
