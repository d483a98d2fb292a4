from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "dsar.intake"
    verbose_name = "Subject intake"
