"""The one row of company branding, edited in /admin/ by the roles the role table gives
``branding``. The list opens the row itself; it cannot be deleted, only changed."""

from django.contrib import admin
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dsar.branding.models import SINGLETON_PK, Branding


@admin.register(Branding)
class BrandingAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (_("Name and logo"), {"fields": ["name_zh", "name_en", "logo"]}),
        (_("Privacy policy"), {"fields": ["privacy_url_zh", "privacy_url_en"]}),
        (
            _("Contact channels"),
            {
                "fields": [
                    "contact_email",
                    "contact_phone",
                    "contact_address_zh",
                    "contact_address_en",
                ]
            },  # fmt: skip
        ),
        (_("Complaints"), {"fields": ["complaint_contact_zh", "complaint_contact_en"]}),
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not Branding.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if Branding.objects.filter(pk=SINGLETON_PK).exists():
            return redirect(reverse("admin:branding_branding_change", args=[SINGLETON_PK]))
        return redirect(reverse("admin:branding_branding_add"))
