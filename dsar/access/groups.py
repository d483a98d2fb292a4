"""The role groups and the Django admin permissions each holds, kept in step with the role
table after every ``migrate`` (a fresh database, a flush, a deploy that changed the table).

After ``migrate`` rather than in a data migration: permissions rows are created only once all
migrations have run, and a change of the table then needs no migration of its own.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS, transaction

from dsar.access.permissions import ACTIONS, ADMIN_SITE
from dsar.access.roles import Role


def admin_site_permissions(role: str) -> set[str]:
    """The ``app_label.codename`` permissions the role table gives ``role`` in the admin."""
    return {perm for perm, action in ADMIN_SITE.items() if role in ACTIONS[action]}


def sync_role_groups(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Each role's group exists and holds exactly its admin-site permissions: one given to a
    role group by hand is taken back, since the role table decides what a role may do."""
    by_name = _permissions(using)
    if set(ADMIN_SITE) - set(by_name):  # not made yet: auth makes them app by app, after us
        for label in sorted({perm.split(".")[0] for perm in ADMIN_SITE}):
            create_permissions(apps.get_app_config(label), verbosity=0, using=using)
        by_name = _permissions(using)
    with transaction.atomic(using=using):
        for role in Role:
            group, _ = Group.objects.using(using).get_or_create(name=role.value)
            group.permissions.set([by_name[perm] for perm in admin_site_permissions(role)])


def _permissions(using: str) -> dict[str, Permission]:
    permissions = Permission.objects.using(using).select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}": p for p in permissions}
