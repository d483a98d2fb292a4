from django.apps import AppConfig


class EffectsConfig(AppConfig):
    name = "dsar.effects"
    verbose_name = "What each move of a request sets off"

    def ready(self):
        from dsar.effects import connect  # the parts' modules need the app registry ready

        connect()
