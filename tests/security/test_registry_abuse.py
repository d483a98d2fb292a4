"""Registry abuse and SSRF: an admin cannot use a downstream system to reach the product's own
database, a private or link-local address, a file anywhere, or run SQL of another shape than
its action; a change to where a system points or what it runs waits for a second admin; an
error a person sees never carries a downstream's body unbounded or unlabelled."""

import hashlib
import json
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.fanout import destinations
from dsar.fanout.connectors import DONE, FAILED, SubjectKeys, http, sql
from dsar.fanout.models import DownstreamSystem
from tests.support.shop import shop_rows
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db
URL = "/api/v1/staff/systems/"
KEYS = SubjectKeys(email="li.lei@example.com")
# A check statement that, run against our own database, makes every staff member a superuser.
ESCALATE = (
    "WITH promoted AS (UPDATE auth_user SET is_superuser = true RETURNING id) "
    "SELECT count(*) AS n FROM promoted"
)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def own_dsn(host=None) -> str:
    conf = connection.settings_dict
    return (
        f"postgresql://{conf['USER']}:{conf['PASSWORD']}@{host or conf['HOST']}:"
        f"{conf['PORT'] or 5432}/{conf['NAME']}"
    )


def sql_system(dsn, statements, actions=("check",)) -> dict:
    return {"name": "warehouse", "kind": "sql", "actions": list(actions),
            "config": {"dsn": dsn, "statements": statements}}  # fmt: skip


def run_sql(dsn, action, statements):
    return sql.run(
        config={"dsn": dsn, "statements": {action: statements}},
        action=action, keys=KEYS, idempotency_key="k", timeout=5,
    )  # fmt: skip


@pytest.mark.parametrize("form", ["as given", "localhost", "key=value"])
def test_a_dsn_reaching_the_products_own_database_is_refused(api_as, form):
    dsn = {
        "as given": own_dsn(),
        "localhost": own_dsn(host="localhost"),
        "key=value": f"host=127.0.0.1 port=5432 dbname={connection.settings_dict['NAME']}",
    }[form]
    answer = api_as("admin").post(URL, sql_system(dsn, {"check": ESCALATE}), format="json")
    assert answer.status_code == 400
    assert "own database" in answer.json()["error"]["fields"]["config"][0]
    assert not DownstreamSystem.objects.exists()


def test_a_system_stored_before_the_rule_cannot_escalate_at_run_time(staff_user):
    admin = staff_user("admin")
    outcome = run_sql(own_dsn(), "check", [ESCALATE])
    assert outcome.state == FAILED and "own database" in outcome.detail
    assert not User.objects.get(pk=admin.pk).is_superuser


def test_a_check_or_export_runs_read_only(shop_dsn):
    writes = "WITH gone AS (DELETE FROM customers RETURNING id) SELECT count(*) AS n FROM gone"
    outcome = run_sql(shop_dsn, "export", [writes])
    assert outcome.state == FAILED
    assert len(shop_rows(shop_dsn, "SELECT * FROM customers")) == 2
    assert run_sql(shop_dsn, "export", ["SELECT name FROM customers"]).state == DONE


@pytest.mark.parametrize(
    ("action", "statement"),
    [
        ("check", "DELETE FROM customers"),
        ("export", "SELECT 1; DROP TABLE customers"),
        ("delete", "DROP TABLE customers"),
        ("delete", "GRANT ALL ON customers TO PUBLIC"),
        ("export", "ATTACH DATABASE '/tmp/x.db' AS x"),
    ],
)
def test_statements_must_have_their_actions_shape(api_as, shop_dsn, action, statement):
    answer = api_as("admin").post(
        URL, sql_system(shop_dsn, {action: [statement]}, actions=[action]), format="json"
    )
    assert answer.status_code == 400 and "config" in answer.json()["error"]["fields"]
    assert run_sql(shop_dsn, action, [statement]).state == FAILED
    assert len(shop_rows(shop_dsn, "SELECT * FROM customers")) == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/dsar",
        "http://[::1]:8000/",
        "http://internal.example:9000/",
        "http://user:pw@127.0.0.1/",
    ],
)
def test_urls_to_unlisted_hosts_are_refused(api_as, url):
    config = {"url": url, "secret": "s" * 20}
    answer = api_as("admin").post(
        URL, {"name": "crm", "kind": "http", "actions": ["delete"], "config": config},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 400 and "config" in answer.json()["error"]["fields"]
    assert not DownstreamSystem.objects.exists()


def test_nothing_on_this_machine_is_reachable_by_default(settings, api_as, downstream):
    settings.DSAR_DOWNSTREAM_ALLOWED_HOSTS = []  # the production default
    config = {"url": downstream.url, "secret": SECRET}
    answer = api_as("admin").post(
        URL, {"name": "crm", "kind": "http", "actions": ["delete"], "config": config},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 400
    assert "DSAR_DOWNSTREAM_ALLOWED_HOSTS" in answer.json()["error"]["fields"]["config"][0]
    outcome = http.run(config=config, action="delete", keys=KEYS, idempotency_key="k", timeout=2)
    assert outcome.state == FAILED and downstream.received == []


def test_listed_networks_and_suffixes_are_reachable(settings):
    settings.DSAR_DOWNSTREAM_ALLOWED_HOSTS = ["10.20.0.0/16", ".corp.example"]
    assert destinations.host_allowed("10.20.3.4") and destinations.host_allowed("crm.corp.example")
    assert not destinations.host_allowed("10.21.0.1")
    assert not destinations.host_allowed("corp.example.attacker.example")


def test_sqlite_files_are_never_created_or_opened_outside_the_listed_folders(api_as, tmp_path):
    target = tmp_path / "made-by-the-registry.sqlite3"
    admin = api_as("admin")
    for path in (Path("/etc/dsar-probe.sqlite3"), target):
        system = sql_system(f"sqlite:///{path}", {"check": "SELECT 1"})
        assert admin.post(URL, system, format="json").status_code == 400
        assert run_sql(f"sqlite:///{path}", "check", ["SELECT 1"]).state == FAILED
        assert not path.exists()


def test_a_downstream_body_is_bounded_and_labelled(downstream):
    downstream.answers = [(400, {"error": "<script>alert(1)</script>" + "x" * 5000})]
    config = {"url": downstream.url, "secret": SECRET}
    outcome = http.run(config=config, action="delete", keys=KEYS, idempotency_key="k", timeout=2)
    assert outcome.state == FAILED
    assert outcome.detail.startswith("HTTP 400; the system answered (unverified): ")
    assert len(outcome.detail) < 160 and "<" not in outcome.detail


def test_a_change_is_audited_with_a_digest_of_its_statements_and_no_password(api_as, shop_dsn):
    statements = {"export": ["SELECT name FROM customers WHERE email = %(email)s"]}
    api_as("admin").post(URL, sql_system(shop_dsn, statements, ["export"]), format="json")
    event = AuditEvent.objects.get(action="fanout.system_registered")
    canonical = json.dumps(statements, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert event.payload["statements_digest"] == hashlib.sha256(canonical.encode()).hexdigest()
    password = psycopg.conninfo.conninfo_to_dict(shop_dsn)["password"]
    assert (
        f":{password}@" not in json.dumps(event.payload) and "@" not in event.payload["destination"]
    )
    assert event.payload["destination"].endswith(shop_dsn.rsplit("/", 1)[1])


def test_a_guarded_change_waits_for_a_second_admin(api_as, staff_user, shop_dsn):
    first, second = staff_user("admin", "first-admin"), staff_user("admin", "second-admin")
    as_first, as_second = client_for(first), client_for(second)
    statements = {"export": ["SELECT name FROM customers WHERE email = %(email)s"]}
    created = as_first.post(URL, sql_system(shop_dsn, statements, ["export"]), format="json")
    pk = created.json()["id"]
    assert created.json()["approved"] is False
    assert not DownstreamSystem.objects.runnable().exists()  # the fan-out does not call it
    own = as_first.post(f"{URL}{pk}/approve/")
    assert own.status_code == 403 and "Another admin" in own.json()["error"]["message"]
    approved = as_second.post(f"{URL}{pk}/approve/")
    assert approved.status_code == 200 and approved.json()["approved"] is True
    assert DownstreamSystem.objects.runnable().filter(pk=pk).exists()

    wider = {"export": ["SELECT * FROM customers"]}
    change = as_first.patch(f"{URL}{pk}/", {"config": {"dsn": shop_dsn, "statements": wider}},
                            format="json")  # fmt: skip
    assert change.status_code == 200
    assert change.json()["pending_change"]["statements"] == wider  # what the approver judges
    assert DownstreamSystem.objects.get(pk=pk).settings["statements"] == statements  # still runs
    assert as_first.post(f"{URL}{pk}/approve/").status_code == 403
    assert as_second.post(f"{URL}{pk}/approve/").status_code == 200
    assert DownstreamSystem.objects.get(pk=pk).settings["statements"] == wider
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("fanout.system_change_approved") == 2


def test_a_rejected_change_leaves_the_approved_configuration_running(api_as, staff_user):
    first, second = staff_user("admin", "first-admin"), staff_user("admin", "second-admin")
    system = DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"],
        config=json.dumps({"url": "http://127.0.0.1:9100/", "secret": "s" * 20}),
    )  # fmt: skip
    as_first, as_second = client_for(first), client_for(second)
    moved = {"config": {"url": "http://127.0.0.1:9200/", "secret": "s" * 20}}
    assert as_first.patch(f"{URL}{system.pk}/", moved, format="json").status_code == 200
    assert as_second.post(f"{URL}{system.pk}/reject/").status_code == 200
    system.refresh_from_db()
    assert (system.settings["url"], system.pending_config) == ("http://127.0.0.1:9100/", "")
    rotated = {"config": {"url": "http://127.0.0.1:9100/", "secret": "t" * 20}}
    assert as_first.patch(f"{URL}{system.pk}/", rotated, format="json").status_code == 200
    system.refresh_from_db()  # a new secret could sign callbacks: it waits for a second admin
    assert (system.settings["secret"], system.awaits_approval) == ("s" * 20, True)
    timeout = {"timeout_seconds": 3}
    assert as_second.patch(f"{URL}{system.pk}/", timeout, format="json").status_code == 200
    system.refresh_from_db()  # a timeout changes neither where it points nor who it trusts
    assert (system.timeout_seconds, system.settings["secret"]) == (3, "s" * 20)


def test_the_admin_form_hides_secrets_and_keeps_them_when_untouched(admin_client):
    system = DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"],
        config=json.dumps({"url": "http://127.0.0.1:9100/", "secret": "s3cret-shared-value"}),
    )  # fmt: skip
    page = admin_client.get(f"/admin/fanout/downstreamsystem/{system.pk}/change/")
    assert page.status_code == 200 and "s3cret-shared-value" not in page.content.decode()
    config = json.dumps({"url": "http://127.0.0.1:9100/", "secret": "********"})
    form = {"name": "crm", "kind": "http", "actions": '["delete"]', "timeout_seconds": 5,
            "max_attempts": 5, "enabled": "on", "categories": "[]", "config": config}  # fmt: skip
    saved = admin_client.post(f"/admin/fanout/downstreamsystem/{system.pk}/change/", form)
    assert saved.status_code == 302
    system.refresh_from_db()
    assert (system.settings["secret"], system.timeout_seconds) == ("s3cret-shared-value", 5)
    assert AuditEvent.objects.filter(action="fanout.system_changed").exists()


def test_the_admin_form_refuses_absurd_nesting_with_a_field_message(admin_client):
    form = {"name": "crm", "kind": "http", "actions": '["delete"]', "timeout_seconds": 5,
            "max_attempts": 5, "enabled": "on", "categories": "[]"}  # fmt: skip
    form["config"] = "[" * 100_000
    answer = admin_client.post("/admin/fanout/downstreamsystem/add/", form)
    assert (
        answer.status_code == 200 and "Give the configuration as JSON." in answer.content.decode()
    )
    assert not DownstreamSystem.objects.exists()
