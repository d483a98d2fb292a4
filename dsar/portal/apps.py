from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "dsar.portal"
    verbose_name = "Subject portal"
