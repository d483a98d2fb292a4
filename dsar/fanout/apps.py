from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FanoutConfig(AppConfig):
    name = "dsar.fanout"
    verbose_name = _("Downstream fan-out")

    def ready(self):
        # Registers the Celery tasks with the app: the services publish them by name
        # (``publishing``) without importing this module, which imports the services.
        from dsar.fanout import tasks  # noqa: F401
