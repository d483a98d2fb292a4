from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "dsar.verification"
    verbose_name = _("Identity verification")

    def ready(self):
        # Registers the Celery tasks with the app: ``receipts`` publishes its task by name
        # without importing this module, which imports the services.
        from dsar.verification import tasks  # noqa: F401
