"""Opt-outs and consent withdrawals applied by a data map's rules (``dsar.datamap.preferences``)
on real PostgreSQL and real MariaDB: only the proven channel, only the named purposes, a
repeat changes nothing, a bad rule is refused with field messages, and a system without the
rule is skipped where staff see it."""

import copy
import importlib
import json

import pytest
import sqlalchemy as sa
from django.apps import apps
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.datamap import engines
from dsar.fanout import plan
from dsar.fanout.connectors import DONE, SubjectKeys
from dsar.fanout.connectors.sql import run as run_sql
from dsar.fanout.models import Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.django_db(transaction=True)  # the fan-out's work runs after commit

LI, LI_WORK, HAN = "li.lei@example.com", "li.work@example.com", "han.mei@example.com"
LI_PHONE = "+8613912345678"
DDL = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(255), phone VARCHAR(20), "
    "marketing_ok BOOLEAN NOT NULL, profiling_ok BOOLEAN NOT NULL)",
    "CREATE TABLE consents (id INTEGER PRIMARY KEY, customer_id INTEGER, purpose VARCHAR(40), "
    "granted BOOLEAN NOT NULL)",
    "CREATE TABLE suppressions (address VARCHAR(255), channel VARCHAR(10))",
    "CREATE TABLE withdrawals (email VARCHAR(255), purpose VARCHAR(40))",
]
TABLES = ["customers", "consents", "suppressions", "withdrawals"]
# Li's account also has a work address (same phone): an opt-out proven for one address
# must leave the other alone.
ROWS = {
    "customers": [
        {"id": 1, "email": LI, "phone": "13912345678", "marketing_ok": True, "profiling_ok": True},
        {"id": 2, "email": LI_WORK, "phone": "13912345678", "marketing_ok": True,
         "profiling_ok": True},
        {"id": 3, "email": HAN, "phone": "13800000000", "marketing_ok": True,
         "profiling_ok": True},
    ],
    "consents": [
        {"id": 10 * c + n, "customer_id": c, "purpose": p, "granted": True}
        for c in (1, 3) for n, p in enumerate(["marketing", "profiling", "partner_sharing"])
    ],
}  # fmt: skip
BOOL = {"type": "boolean", "nullable": False}
MAP = {
    "tables": {
        "customers": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False},
            "email": {"type": "varchar(255)", "identity": "email", "category": "contact",
                      "policy": "delete"},
            "phone": {"type": "varchar(20)", "identity": "phone", "category": "contact",
                      "policy": "delete"},
            "marketing_ok": BOOL, "profiling_ok": BOOL}},
        "consents": {"key": ["id"], "columns": {
            "id": {"type": "integer", "nullable": False}, "customer_id": {"type": "integer"},
            "purpose": {"type": "varchar(40)"}, "granted": BOOL}},
        "suppressions": {"columns": {
            "address": {"type": "varchar(255)"}, "channel": {"type": "varchar(10)"}}},
        "withdrawals": {"columns": {
            "email": {"type": "varchar(255)"}, "purpose": {"type": "varchar(40)"}}},
    },
    "references": [{"from": "consents.customer_id", "to": "customers.id"}],
    "opt_out": [
        {"table": "customers", "set": {"marketing_ok": False}},
        {"table": "suppressions", "insert": {"address": "email", "channel": {"value": "email"}}},
    ],
    "restrict": [
        {"table": "consents", "purpose": "purpose", "delete": True},
        {"table": "customers", "purposes": ["profiling"], "set": {"profiling_ok": False}},
        {"table": "withdrawals", "insert": {"email": "email", "purpose": "purpose"}},
    ],
}  # fmt: skip


@pytest.fixture
def consents_db(server_dsn):
    """The consent tables loaded afresh into the module's database (PostgreSQL, MariaDB)."""
    engine = engines.engine_for(server_dsn)
    with engine.begin() as conn:
        for name in TABLES:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        for statement in DDL:
            conn.exec_driver_sql(statement)
        for name, rows in ROWS.items():
            conn.execute(sa.insert(sa.table(name, *(sa.column(c) for c in rows[0]))), rows)
    engine.dispose()
    return server_dsn


def read(dsn: str, sql: str) -> list[tuple]:
    engine = engines.engine_for(dsn)
    with engine.connect() as conn:
        rows = sorted(tuple(row) for row in conn.exec_driver_sql(sql))
    engine.dispose()
    return rows


def flags(dsn: str) -> dict[str, tuple[bool, bool]]:
    rows = read(dsn, "SELECT email, marketing_ok, profiling_ok FROM customers")
    return {email: (bool(m), bool(p)) for email, m, p in rows}


def act(dsn, action, keys, purposes=None):
    outcome = run_sql(config={"dsn": dsn, "map": MAP}, action=action, keys=keys,
                      idempotency_key="k", timeout=10, purposes=purposes)  # fmt: skip
    assert outcome.state == DONE, outcome.detail
    return outcome.data


def test_an_opt_out_changes_the_proven_address_only_and_a_repeat_nothing(consents_db):
    keys = SubjectKeys(email=LI)  # the opt-out's keys: the proven channel, no account
    assert act(consents_db, "opt_out", keys) == {"updated": 1, "inserted": 1, "deleted": 0}
    assert flags(consents_db) == {LI: (False, True), LI_WORK: (True, True), HAN: (True, True)}
    assert read(consents_db, "SELECT address, channel FROM suppressions") == [(LI, "email")]
    assert act(consents_db, "opt_out", keys) == {"updated": 0, "inserted": 0, "deleted": 0}
    assert read(consents_db, "SELECT address, channel FROM suppressions") == [(LI, "email")]


def test_an_opt_out_proven_by_phone_adds_no_email_row(consents_db):
    data = act(consents_db, "opt_out", SubjectKeys(phone=LI_PHONE))
    assert data == {"updated": 2, "inserted": 0, "deleted": 0}  # both rows hold that phone
    assert flags(consents_db)[HAN] == (True, True)
    assert read(consents_db, "SELECT address FROM suppressions") == []


def test_a_withdrawal_removes_only_the_named_purposes_and_a_repeat_nothing(consents_db):
    keys, named = SubjectKeys(email=LI, phone=LI_PHONE), ["profiling", "partner_sharing"]
    assert act(consents_db, "restrict", keys, named) == {
        "updated": 2, "inserted": 2, "deleted": 2  # profiling_ok on both of Li's rows
    }  # fmt: skip
    consents = read(consents_db, "SELECT customer_id, purpose FROM consents")
    assert consents == [(1, "marketing"), (3, "marketing"), (3, "partner_sharing"),
                        (3, "profiling")]  # fmt: skip
    assert flags(consents_db) == {LI: (True, False), LI_WORK: (True, False), HAN: (True, True)}
    assert read(consents_db, "SELECT email, purpose FROM withdrawals") == [
        (LI, "partner_sharing"), (LI, "profiling")
    ]  # fmt: skip
    assert act(consents_db, "restrict", keys, named) == {"updated": 0, "inserted": 0, "deleted": 0}


def test_a_withdrawal_of_marketing_only_leaves_the_profiling_flag(consents_db):
    act(consents_db, "restrict", SubjectKeys(email=LI), ["marketing"])
    assert flags(consents_db)[LI] == (True, True)  # the flag rule names profiling only
    assert (1, "marketing") not in read(consents_db, "SELECT customer_id, purpose FROM consents")


def admin(name: str) -> APIClient:
    user = User.objects.create_user(username=name, password="x", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = APIClient()
    client.force_authenticate(user)
    return client


BAD_RULES = [
    ({"opt_out": [{"table": "nowhere", "set": {"x": 1}}]},
     "map.opt_out.0.table: Name a table of the map."),
    ({"opt_out": [{"table": "customers", "set": {"marketing_ok": "no"}}]},
     "map.opt_out.0.set.marketing_ok: A boolean column takes true or false."),
    ({"opt_out": [{"table": "customers", "set": {"nickname": False}}]},
     "map.opt_out.0.set.nickname: customers has no column nickname in the map."),
    ({"opt_out": [{"table": "consents", "delete": True}]},
     "map.opt_out.0.delete: An opt-out keeps the subject's rows: use set or insert."),
    ({"restrict": [{"table": "consents", "purposes": ["telepathy"], "delete": True}]},
     "map.restrict.0.purposes: Unknown purposes: telepathy."),
    ({"restrict": [{"table": "consents", "set": {"granted": False}, "delete": True}]},
     'map.restrict.0: Give exactly one of "set", "insert" or "delete".'),
    ({"restrict": [{"table": "withdrawals", "insert": {"purpose": "purpose"}}]},
     "map.restrict.0.insert: Give at least one column the subject's key fills "
     "(email, phone, account_id)."),
    ({"opt_out": [{"table": "suppressions", "insert": {"address": "purpose"}}]},
     'map.opt_out.0.insert.address: Give one of email, phone, account_id or {"value": ...}.'),
    ({"restrict": {"table": "consents"}},
     'map.restrict: Give a list of rules, e.g. [{"table": ..., "set": {...}}].'),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "message"), BAD_RULES)
def test_a_bad_rule_is_refused_with_a_field_message_and_nothing_is_saved(
    consents_db, rules, message
):
    datamap = {**copy.deepcopy(MAP), **rules}
    if "opt_out" not in rules:
        del datamap["opt_out"]
    answer = admin("admin-a").post(
        "/api/v1/staff/systems/",
        {"name": "crm", "kind": "sql", "actions": ["opt_out", "restrict"],
         "config": {"dsn": consents_db, "map": datamap}},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["fields"]["config"] == [message]
    assert not DownstreamSystem.objects.exists()


SEEDS = [
    importlib.import_module(f"dsar.sla.migrations.{name}")
    for name in ("0005_seed_response_policies", "0007_seed_opt_out_policy")
]


@pytest.fixture
def policies():
    for seed in SEEDS:  # a transactional test elsewhere may have emptied the table
        seed.seed(apps, None)


def sql_system(name, dsn, datamap, actions):
    return DownstreamSystem.objects.create(
        name=name, kind="sql", actions=actions, timeout_seconds=10,
        config=json.dumps({"dsn": dsn, "map": datamap}),
    )  # fmt: skip


@pytest.mark.usefixtures("fresh_limits", "policies")
def test_an_opt_out_reaches_the_mapped_system_and_the_one_without_a_rule_is_shown_skipped(
    consents_db, staff_user
):
    no_rules = {k: v for k, v in MAP.items() if k not in ("opt_out", "restrict")}
    sql_system("crm", consents_db, MAP, ["check", "delete", "opt_out"])
    sql_system("warehouse", consents_db, no_rules, ["check", "delete", "opt_out"])
    sql_system("ledger", consents_db, MAP, ["check", "delete"])  # not given the action
    DownstreamSystem.objects.create(name="partner", kind="notify", actions=["delete"],
                                    config="{}")  # a kind that cannot opt out  # fmt: skip
    api = APIClient()
    filed = api.post("/api/v1/requests/", {"type": "marketing_opt_out", "email": LI,
                                           "language": "en"}, format="json")  # fmt: skip
    assert filed.status_code == 201, filed.json()
    pk = filed.json()["id"]
    verified = api.post(f"/api/v1/requests/{pk}/verify/", {"code": code_from_outbox(pk)},
                        format="json")  # fmt: skip
    assert verified.status_code == 200, verified.json()
    request = RightsRequest.objects.get(pk=pk)
    assert request.status == Status.COMPLETED
    tasks = FanoutTask.objects.filter(request=request).order_by("system__name")
    assert [(t.system.name, t.action, t.status, t.last_error) for t in tasks] == [
        ("crm", Action.OPT_OUT, TaskStatus.DONE, ""),
        ("ledger", Action.OPT_OUT, TaskStatus.EXCLUDED,
         "skipped: opt_out is not among the system's actions"),
        ("partner", Action.OPT_OUT, TaskStatus.EXCLUDED,
         "skipped: its kind (notify) cannot do opt_out"),
        ("warehouse", Action.OPT_OUT, TaskStatus.EXCLUDED,
         "skipped: its data map has no opt_out rule"),
    ]  # fmt: skip
    assert flags(consents_db)[LI] == (False, True)
    assert flags(consents_db)[LI_WORK] == (True, True)
    skips = AuditEvent.objects.filter(request_id=request.pk, action="fanout.skipped")
    assert sorted(e.payload["system"] for e in skips) == ["ledger", "partner", "warehouse"]
    assert LI not in json.dumps([e.payload for e in skips])
    client = APIClient()
    client.force_login(staff_user("agent"))
    client.cookies["django_language"] = "en"
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "skipped: its data map has no opt_out rule" in page
    assert '<tr class="task-excluded"><td>warehouse</td>' in page


def test_the_approval_preview_leaves_out_a_system_that_will_be_skipped(consents_db):
    no_rules = {k: v for k, v in MAP.items() if k not in ("opt_out", "restrict")}
    sql_system("crm", consents_db, MAP, ["check", "restrict"])
    sql_system("warehouse", consents_db, no_rules, ["check", "restrict"])
    request = create_request(type="consent_withdrawal", email=LI, purposes=["profiling"])
    assert [(w["system"], w["action"]) for w in plan.preview(request)] == [("crm", "restrict")]
