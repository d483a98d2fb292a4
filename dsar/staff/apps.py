from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StaffConfig(AppConfig):
    name = "dsar.staff"
    label = "staff"
    verbose_name = "Staff"

    def ready(self):
        from dsar.access.groups import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self, dispatch_uid="dsar.access.groups")
