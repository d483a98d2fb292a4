from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "dsar.staff"
    label = "staff"
    verbose_name = _("Staff")

    def ready(self):
        from dsar.access.groups import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self, dispatch_uid="dsar.access.groups")
