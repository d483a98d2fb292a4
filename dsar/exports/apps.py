from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "dsar.exports"
    verbose_name = _("Access exports")

    def ready(self):
        from dsar.workflow.models import RequestType

        # A misspelt type would silently send packages out unreviewed.
        unknown = set(settings.DSAR_EXPORT_REVIEW_TYPES) - set(RequestType.values)
        if unknown:
            raise ImproperlyConfigured(
                f"DSAR_EXPORT_REVIEW_TYPES names no request type: {', '.join(sorted(unknown))}."
            )
