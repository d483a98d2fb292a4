"""Requests in the admin are read-mostly: status moves only through the transition function,
identity is never shown in lists, and only the assignee can be changed here (audited)."""

from django.contrib import admin

from dsar.audit.services import Actor, record_event
from dsar.workflow.models import RightsRequest


@admin.register(RightsRequest)
class RightsRequestAdmin(admin.ModelAdmin):
    list_display = ["reference", "type", "status", "received_at", "due_at", "assignee"]
    list_filter = ["status", "type"]
    search_fields = ["reference"]
    ordering = ["due_at"]
    fields = [
        "reference",
        "type",
        "status",
        "outcome",
        "language",
        "received_at",
        "verified_at",
        "due_at",
        "closed_at",
        "assignee",
    ]
    readonly_fields = [f for f in fields if f != "assignee"]
    list_select_related = ["assignee"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "assignee" in form.changed_data:
            record_event(
                action="request.assigned",
                actor=Actor.staff(request.user),
                request_id=obj.pk,
                payload={"reference": obj.reference, "assignee_id": obj.assignee_id},
            )
