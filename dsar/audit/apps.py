from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dsar.audit"
    label = "audit"
    verbose_name = "Audit trail"
