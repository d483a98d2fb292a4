from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "dsar.sla"
    verbose_name = _("SLA clock")

    def ready(self):
        # Connects its snapshot to the model's changes in every process (dsar.snapshots).
        from dsar.sla import clock  # noqa: F401
