from django.contrib import admin

from dsar.audit.services import Actor, record_event
from dsar.sla.models import CalendarOverride, ResponsePolicy


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"


@admin.register(ResponsePolicy)
class ResponsePolicyAdmin(admin.ModelAdmin):
    """Editing a policy changes the requests filed after it; each change is audited."""

    list_display = ["jurisdiction", "request_type", "length", "unit", "start_event", "source"]
    list_filter = ["jurisdiction", "request_type", "counting_rule"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_event(
            action="policy.changed" if change else "policy.added",
            actor=Actor.staff(request.user),
            payload={"policy_id": obj.pk, "policy": str(obj), **obj.terms().as_dict()},
        )
