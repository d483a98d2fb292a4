from django.contrib import admin

from dsar.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ["seq", "occurred_at", "action", "actor_kind", "actor_id", "to_status"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["request_id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
