from django.apps import AppConfig


class CorrectionsConfig(AppConfig):
    name = "dsar.corrections"
    verbose_name = "Corrections"
