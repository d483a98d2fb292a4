from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "dsar.verification"
    verbose_name = "Identity verification"
