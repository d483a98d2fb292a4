from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EffectsConfig(AppConfig):
    name = "dsar.effects"
    verbose_name = _("What each move of a request sets off")

    def ready(self):
        from dsar.effects import connect  # the parts' modules need the app registry ready

        connect()
