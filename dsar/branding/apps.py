from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BrandingConfig(AppConfig):
    name = "dsar.branding"
    verbose_name = _("Company branding")

    def ready(self):
        # Connects its snapshot to the model's changes in every process (dsar.snapshots).
        from dsar.branding import services  # noqa: F401
