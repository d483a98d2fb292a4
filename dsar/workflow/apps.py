from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "dsar.workflow"
    label = "workflow"
    verbose_name = "Rights requests"
