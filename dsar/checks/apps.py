from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "dsar.checks"
    verbose_name = "Legal-exception checks"
