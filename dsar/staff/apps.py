from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "dsar.staff"
    label = "staff"
    verbose_name = "Staff"
