from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "dsar.exports"
    verbose_name = "Access exports"
