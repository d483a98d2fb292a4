"""Staff privilege in the demo: `seed_demo`'s `admin` holds the admin role and nothing more. A
superuser holds every role, so the demo's admin could approve requests and, in /admin/, make
anyone anything; now it is a plain staff user in the `admin` group, and each role reaches in
/admin/ only what the role table gives it."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from rest_framework.test import APIClient

from dsar.access.groups import admin_site_permissions, sync_role_groups
from dsar.access.permissions import roles_of
from dsar.sla.models import CalendarOverride
from dsar.workflow.identity import email_hash
from dsar.workflow.models import RightsRequest, Status

pytestmark = pytest.mark.django_db

# What the admin site answers each role (200 reachable, 403 not), page by page.
PAGES = {
    "/admin/auth/user/": set(),
    "/admin/auth/group/": set(),
    "/admin/auth/user/add/": set(),
    "/admin/workflow/rightsrequest/": set(),
    "/admin/fanout/downstreamsystem/": {"admin"},
    "/admin/fanout/downstreamsystem/add/": {"admin"},
    "/admin/fanout/fanouttask/": {"admin"},
    "/admin/sla/calendaroverride/add/": {"admin"},
    "/admin/notifications/outboundemail/": {"admin"},
    "/admin/legal/retentionrule/": {"legal", "admin"},
    "/admin/legal/deferreddeletion/": {"legal", "admin"},
    "/admin/legal/legalhold/add/": {"legal"},
    "/admin/audit/auditevent/": {"legal", "supervisor", "admin"},
}
ROLES = ["agent", "legal", "supervisor", "admin"]


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEBUG = True  # seed_demo's own guard
    settings.VAR_DIR = tmp_path  # its demo databases: not the checkout's var/, nor shared
    call_command("seed_demo", stdout=io.StringIO())  # it prints the new passwords
    return {u.username: u for u in get_user_model().objects.filter(username__in=ROLES)}


def test_demo_admin_is_a_plain_staff_user_holding_only_its_role(demo):
    admin = demo["admin"]
    assert (admin.is_superuser, admin.is_staff) == (False, True)
    assert roles_of(admin) == {"admin"}
    assert not any(user.is_superuser for user in demo.values())


def test_demo_admin_cannot_approve_a_request(demo):
    """Approving is the agents' and supervisors' job; the admin runs the systems."""
    waiting = RightsRequest.objects.get(
        email_hash=email_hash("han.meimei@example.com"), status=Status.IN_REVIEW
    )
    api = APIClient()
    api.force_authenticate(demo["admin"])
    assert api.post(f"/api/v1/staff/requests/{waiting.pk}/claim/").status_code == 403
    assert api.post(f"/api/v1/staff/requests/{waiting.pk}/approve/").status_code == 403
    assert RightsRequest.objects.get(pk=waiting.pk).status == Status.IN_REVIEW


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_its_lane_in_the_admin(demo, client, role):
    client.force_login(demo[role])
    reached = {page for page in PAGES if client.get(page).status_code == 200}
    assert reached == {page for page, roles in PAGES.items() if role in roles}


def test_demo_admin_cannot_give_itself_a_role_in_the_admin(demo, client):
    """No user or group editing: the admin cannot join `legal` or make a superuser."""
    admin = demo["admin"]
    client.force_login(admin)
    change = client.post(
        f"/admin/auth/user/{admin.pk}/change/",
        {"username": "admin", "is_staff": "on", "is_superuser": "on", "is_active": "on"},
    )
    assert change.status_code == 403
    admin.refresh_from_db()
    assert not admin.is_superuser and roles_of(admin) == {"admin"}


def test_demo_admin_keeps_the_calendar_in_the_admin(demo, client):
    client.force_login(demo["admin"])
    added = client.post(
        "/admin/sla/calendaroverride/add/",
        {"date": "2026-10-09", "is_workday": "", "note": "Extra holiday"},
    )
    assert added.status_code == 302
    override = CalendarOverride.objects.get(date="2026-10-09")
    delete = f"/admin/sla/calendaroverride/{override.pk}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not CalendarOverride.objects.exists()


def test_a_permission_given_to_a_role_group_by_hand_is_taken_back_on_migrate(demo, client):
    """Someone ticks "can change user" for the `admin` group: the next deploy undoes it."""
    group = Group.objects.get(name="admin")
    group.permissions.add(Permission.objects.get(codename="change_user"))
    sync_role_groups()  # what every `migrate` runs at its end
    client.force_login(demo["admin"])
    assert client.get("/admin/auth/user/").status_code == 403
    assert {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()} == (
        admin_site_permissions("admin")
    )
