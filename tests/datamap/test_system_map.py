"""A data map at work in the product: registered and versioned through the registry, drafted
from discovery by staff over the API, generating the fan-out's queries, proving erasures,
and warning legal review of what it does not cover. Real PostgreSQL and MariaDB shops."""

import copy
import json

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import datamaps
from dsar.fanout.connectors import DONE, FAILED, SubjectKeys
from dsar.fanout.connectors.sql import run as run_sql
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.legal.models import Finding, RetentionRule
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.datamap.shop import LI, SHOP_MAP, dump
from tests.factories import ACTORS

pytestmark = pytest.mark.django_db(transaction=True)  # the fan-out's work runs after commit

KEYS = SubjectKeys(email=LI["email"], phone=LI["phone"])


@pytest.fixture
def retention():
    RetentionRule.objects.get_or_create(
        category="tax-records",
        defaults={"name": "Tax records", "period_months": 60, "legal_basis": "Tax law"},
    )


def admin(name: str) -> APIClient:
    user = User.objects.create_user(username=name, password="x")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_mapped_delete_is_done_only_after_the_proof_finds_nothing_left(shop):
    outcome = run_sql(config={"dsn": shop, "map": SHOP_MAP}, action="delete", keys=KEYS,
                      idempotency_key="k-1", timeout=10)  # fmt: skip
    assert outcome.state == DONE, outcome.detail
    assert outcome.data["verified"] == {"rows_left": 0}
    assert outcome.data["deleted"] == 6 and outcome.data["masked"] == 2


def test_hand_written_statements_that_forget_a_table_fail_the_proof(shop):
    config = {"dsn": shop, "map": SHOP_MAP, "statements": {"delete": [
        "DELETE FROM item_reviews WHERE item_id IN (SELECT id FROM order_items WHERE order_id "
        "IN (SELECT id FROM orders WHERE customer_id = 1))",
        "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 1)",
        "UPDATE orders SET ship_to = NULL, contact_phone = 'x' WHERE customer_id = 1",
        "DELETE FROM customers WHERE email = %(email)s",
    ]}}  # fmt: skip
    outcome = run_sql(config=config, action="delete", keys=KEYS, idempotency_key="k-2", timeout=10)
    assert outcome.state == FAILED
    assert outcome.detail == "proof of erasure: rows remain in newsletter_signups (1)"


def test_bad_maps_are_refused_with_field_messages_and_nothing_is_saved(shop, retention):
    datamap = copy.deepcopy(SHOP_MAP)
    datamap["references"].append({"from": "orders.buyer", "to": "customers.id"})
    answer = admin("admin-a").post(
        "/api/v1/staff/systems/",
        {"name": "shop", "kind": "sql", "actions": ["delete"],
         "config": {"dsn": shop, "map": datamap}},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"]["config"] == [
        "map.references.3.from: The table orders has no column buyer in the map."
    ]
    assert not DownstreamSystem.objects.exists()


def test_discovery_to_an_approved_versioned_map_over_the_api(shop, retention):
    first, second = admin("admin-a"), admin("admin-b")
    created = first.post(
        "/api/v1/staff/systems/",
        {"name": "shop", "kind": "sql", "actions": ["check", "export", "delete"],
         "config": {"dsn": shop, "statements": {"check": "SELECT 1 AS one"}}},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    system = created.json()["id"]
    assert second.post(f"/api/v1/staff/systems/{system}/approve/").status_code == 200

    found = first.post(f"/api/v1/staff/systems/{system}/discover/", {}, format="json")
    assert found.status_code == 201, found.json()
    body = found.json()
    assert LI["email"] not in json.dumps(body) and "13912345678" not in json.dumps(body)
    proposed = {(p["table"], p["column"]) for p in body["proposals"]}
    assert {("customers", "email"), ("newsletter_signups", "email")} <= proposed
    assert first.get(f"/api/v1/staff/systems/{system}/coverage/").json()["uncovered"]

    decisions = [{"table": t, "column": c, "decision": "accept"} for t, c in sorted(proposed)]
    decisions += [{"reference": f"{r['from']}->{r['to']}", "decision": "accept"}
                  for r in body["references"]]  # fmt: skip
    # No name says item_reviews.item_id points at order_items: staff add that reference.
    assert "item_reviews.item_id->order_items.id" not in [
        f"{r['from']}->{r['to']}" for r in body["references"]]  # fmt: skip
    decisions.append({"reference": "item_reviews.item_id->order_items.id", "decision": "accept"})
    unknown = {"table": "nope", "column": "x", "decision": "accept"}
    bad = first.post(f"/api/v1/staff/systems/{system}/decide/",
                     {"decisions": [*decisions, unknown]}, format="json")  # fmt: skip
    assert bad.status_code == 400
    after_bad = first.get(f"/api/v1/staff/systems/{system}/discovery/").json()
    assert all(p["decision"] == "pending" for p in after_bad["proposals"])  # nothing recorded
    decided = first.post(f"/api/v1/staff/systems/{system}/decide/", {"decisions": decisions},
                         format="json")  # fmt: skip
    assert decided.status_code == 200, decided.json()

    proposed_map = first.post(f"/api/v1/staff/systems/{system}/propose-map/")
    assert proposed_map.status_code == 200, proposed_map.json()
    pending = proposed_map.json()["pending_change"]
    assert pending["map"]["tables"]["customers"]["columns"]["email"]["identity"] == "email"
    assert "map" not in DownstreamSystem.objects.get(pk=system).settings  # not yet running
    assert first.post(f"/api/v1/staff/systems/{system}/approve/").status_code == 403  # own
    assert second.post(f"/api/v1/staff/systems/{system}/approve/").status_code == 200

    versions = first.get(f"/api/v1/staff/systems/{system}/map-versions/").json()
    assert [(v["number"], v["proposed_by"], v["approved_by"]) for v in versions] == [
        (1, "admin-a", "admin-b")
    ]
    event = AuditEvent.objects.filter(action="fanout.system_change_approved").latest("pk")
    assert (
        event.payload["map_version"] == 1 and event.payload["map_digest"] == versions[0]["digest"]
    )
    assert first.get(f"/api/v1/staff/systems/{system}/coverage/").json()["uncovered"] == []


def test_a_map_missing_a_personal_table_warns_review_and_the_deletion_is_proven(shop, retention):
    partial = copy.deepcopy(SHOP_MAP)
    del partial["tables"]["newsletter_signups"]
    system = DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check", "delete"],
        config=json.dumps({"dsn": shop, "map": partial}),
    )  # fmt: skip
    datamaps.run_discovery(user=None, system=system)

    request = create_request(type="deletion", email=LI["email"])
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    assert FanoutTask.objects.get(action="check").status == TaskStatus.DONE
    finding = Finding.objects.get(request=request, check_name="map_coverage")
    assert not finding.blocks
    assert finding.params["system"] == "shop"
    # The missing table is named (discovery also counts keys such as customers.id, which the
    # map lists without a category, as personal: those tables are named too).
    uncovered = {u["table"] for u in datamaps.coverage(system)["uncovered"]}
    assert "newsletter_signups" in uncovered
    assert finding.params["tables"] == ", ".join(sorted(uncovered))

    before = dump(shop)
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    task = FanoutTask.objects.get(action="delete")
    assert task.status == TaskStatus.DONE, task.last_error
    done = AuditEvent.objects.filter(action="fanout.done", payload__task=str(task.pk)).get()
    assert done.payload["verified"] == "0 rows"
    assert task.result["retained"] == ["orders.invoice_no (tax-records)"]
    after = dump(shop)
    assert [r for r in after["newsletter_signups"] if r[0] == LI["email"]] == [
        r for r in before["newsletter_signups"] if r[0] == LI["email"]
    ]  # the map left it: this is what the advisory finding warned of


def test_the_discover_command_prints_proposals_and_evidence_never_values(shop, capsys):
    from django.core.management import call_command

    DownstreamSystem.objects.create(
        name="shop",
        kind="sql",
        actions=["delete"],
        config=json.dumps({"dsn": shop, "map": SHOP_MAP}),
    )
    call_command("discover", "shop")
    printed = capsys.readouterr().out
    assert "shop: 5 tables read." in printed
    assert "newsletter_signups.email: contact identity=email" in printed
    assert LI["email"] not in printed and "Li Lei" not in printed and "13912345678" not in printed


def test_a_read_only_transaction_refuses_writes_on_each_database(shop):
    """What a check or export runs in: the database itself refuses a write."""
    import sqlalchemy as sa

    from dsar.datamap import engines

    before = dump(shop)
    engine = engines.engine_for(shop)
    with pytest.raises(sa.exc.DBAPIError), engines.transaction(engine, read_only=True) as conn:
        conn.exec_driver_sql("DELETE FROM newsletter_signups")
    assert dump(shop) == before
    with engines.transaction(engine) as conn:  # and the next transaction may write again
        conn.exec_driver_sql("DELETE FROM newsletter_signups WHERE topic = 'deals'")
    assert len(dump(shop)["newsletter_signups"]) == 1


def test_decisions_of_the_wrong_shape_are_refused_with_a_message_not_a_crash(shop, retention):
    client = admin("admin-a")
    system = DownstreamSystem.objects.create(
        name="shop",
        kind="sql",
        actions=["delete"],
        config=json.dumps({"dsn": shop, "map": SHOP_MAP}),
    )
    assert client.post(f"/api/v1/staff/systems/{system.pk}/discover/").status_code == 201
    for bad in (
        [{"table": ["customers"], "column": "email", "decision": "accept"}],
        [{"reference": {"from": "a.b"}, "decision": "accept"}],
        [{"table": "customers", "column": "email", "decision": ["accept"]}],
        [{"table": "customers", "column": "email", "decision": "accept", "colour": "red"}],
        [{"reference": "orders.customer_id->nowhere.id", "decision": "accept"}],
    ):
        answer = client.post(
            f"/api/v1/staff/systems/{system.pk}/decide/", {"decisions": bad}, format="json"
        )
        assert answer.status_code == 400, bad
        assert list(answer.json()["error"]["fields"]) == ["decisions.0"]
    assert (
        client.post(f"/api/v1/staff/systems/{system.pk}/decide/", {}, format="json").status_code
        == 400
    )
    assert client.post(f"/api/v1/staff/systems/{system.pk}/propose-map/").status_code == 400
