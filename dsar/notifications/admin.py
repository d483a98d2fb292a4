from django.contrib import admin

from dsar.notifications.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "template", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "template"]
    fields = ["template", "language", "status", "attempts", "last_error", "request_id"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
