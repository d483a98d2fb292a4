from django.apps import AppConfig


class LegalConfig(AppConfig):
    name = "dsar.legal"
    verbose_name = "Legal-exception checks"
