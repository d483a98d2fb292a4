from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "dsar.sla"
    verbose_name = "SLA clock"
