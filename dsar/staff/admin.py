from django.contrib import admin

from dsar.staff.models import StaffProfile


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    """The language each staff member receives alert emails in."""

    list_display = ["user", "language"]
    list_filter = ["language"]
    autocomplete_fields = ["user"]
