"""The downstream registry over the staff API: admins register and change systems; a system
that could never run is refused with field messages; secrets go in and never come out."""

import pytest
from django.db import connection

from dsar.audit.models import AuditEvent
from dsar.fanout.models import DownstreamSystem

pytestmark = pytest.mark.django_db
URL = "/api/v1/staff/systems/"
CRM = {
    "name": "crm",
    "kind": "http",
    "actions": ["check", "delete"],
    "config": {"url": "http://127.0.0.1:9100/dsar", "secret": "s3cret-shared-with-the-crm"},
}


def test_an_admin_registers_a_system_and_its_secret_never_comes_back(api_as):
    admin = api_as("admin")
    answer = admin.post(URL, CRM, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["config_keys"] == ["secret", "url"]
    listed = admin.get(URL).content.decode()
    assert "s3cret" not in answer.content.decode() + listed
    system = DownstreamSystem.objects.get(name="crm")
    assert system.settings["secret"] == CRM["config"]["secret"]
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT config FROM fanout_downstreamsystem WHERE id = %s", [system.pk])
        assert "s3cret" not in cursor.fetchone()[0]
    event = AuditEvent.objects.get(action="fanout.system_registered")
    assert "s3cret" not in str(event.payload) and event.payload["system"] == "crm"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"config": {"url": "http://127.0.0.1:9100/dsar"}}, "config"),  # no secret
        ({"config": {"url": "ftp://127.0.0.1/", "secret": "x" * 20}}, "config"),
        ({"kind": "backup", "actions": ["export"]}, "actions"),  # backups are never read
        ({"kind": "sql", "config": {"dsn": "postgres://x/y"}}, "config"),  # no statements
        ({"kind": "notify", "actions": ["delete"], "config": {"recipient": "nobody"}}, "config"),
        ({"actions": ["shred"]}, "actions"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"config": "not an object"}, "config"),
    ],
)
def test_a_system_that_could_not_run_is_refused_and_nothing_is_stored(api_as, change, field):
    answer = api_as("admin").post(URL, {**CRM, **change}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]
    assert not DownstreamSystem.objects.exists()


def test_a_second_system_with_the_same_name_is_refused(api_as):
    admin = api_as("admin")
    admin.post(URL, CRM, format="json")
    answer = admin.post(URL, CRM, format="json")
    assert answer.status_code == 400 and "name" in answer.json()["error"]["fields"]
    assert DownstreamSystem.objects.count() == 1


@pytest.mark.parametrize("role", ["agent", "legal", "supervisor"])
def test_only_admins_manage_systems(api_as, role):
    client = api_as(role)
    assert client.post(URL, CRM, format="json").status_code == 403
    assert client.get(URL).status_code == 403
    assert not DownstreamSystem.objects.exists()


def test_an_admin_disables_a_system_and_a_bad_change_leaves_it_as_it_was(api_as):
    admin = api_as("admin")
    pk = admin.post(URL, CRM, format="json").json()["id"]
    answer = admin.patch(f"{URL}{pk}/", {"enabled": False}, format="json")
    assert answer.status_code == 200 and answer.json()["enabled"] is False
    bad = admin.patch(f"{URL}{pk}/", {"config": {"url": "http://127.0.0.1/"}}, format="json")
    assert bad.status_code == 400
    system = DownstreamSystem.objects.get(pk=pk)
    assert (system.enabled, system.settings["secret"]) == (False, CRM["config"]["secret"])


def test_the_admin_form_applies_the_same_rules(admin_client):
    form = {"name": "crm", "kind": "http", "actions": '["delete"]', "timeout_seconds": 10,
            "max_attempts": 5, "enabled": "on", "categories": "[]"}  # fmt: skip
    add = "/admin/fanout/downstreamsystem/add/"
    refused = admin_client.post(add, {**form, "config": '{"url": "http://127.0.0.1:9100/"}'})
    assert refused.status_code == 200 and "secret" in refused.content.decode()
    assert not DownstreamSystem.objects.exists()
    config = '{"url": "http://127.0.0.1:9100/", "secret": "s3cret-shared-with-the-crm"}'
    assert admin_client.post(add, {**form, "config": config}).status_code == 302
    assert DownstreamSystem.objects.get().settings["url"] == "http://127.0.0.1:9100/"
