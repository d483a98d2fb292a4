"""The demo's downstream systems (`make run`) really act: a deletion empties the demo shop
and the demo CRM for the subject, leaves the bystander alone, tells the partner and writes the
backup ledger."""

import sqlite3
import threading
import time

import pytest

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import demo
from dsar.fanout.models import DeletionLedger, FanoutTask, TaskStatus
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)
SUBJECT, BYSTANDER = "chen.jing@example.com", "bystander@example.com"


@pytest.fixture
def demo_systems(tmp_path, live_server, settings):
    settings.DSAR_PUBLIC_BASE_URL = live_server.url  # where the demo CRM calls back
    port = free_port()
    demo.register(var_dir=tmp_path, crm_port=port)
    server = demo.serve_crm(port=port, var_dir=tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path
    server.shutdown()
    server.server_close()


def emails(path, sql: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute(sql)}


def test_a_demo_deletion_fans_out_to_every_demo_system(demo_systems):
    request = create_request(type="deletion", email=SUBJECT)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])

    crm = FanoutTask.objects.get(request=request, action="delete", system__name="demo-crm")
    deadline = time.monotonic() + 30
    while crm.status != TaskStatus.DONE and time.monotonic() < deadline:
        time.sleep(0.1)  # waiting for the CRM's callback over HTTP, not for a clock
        crm.refresh_from_db()

    statuses = dict(
        FanoutTask.objects.filter(request=request, action="delete").values_list(
            "system__name", "status"
        )
    )
    assert statuses == {
        "demo-shop": TaskStatus.DONE,
        "demo-crm": TaskStatus.DONE,  # 202, then the signed callback
        "demo-partner": TaskStatus.WAITING,  # until the partner confirms by its link
        "demo-backups": TaskStatus.WAITING,  # until the backups rotate
    }
    shop = demo_systems / "demo_shop.sqlite3"
    assert SUBJECT not in emails(shop, "SELECT email FROM customers")
    assert SUBJECT not in emails(shop, "SELECT email FROM orders")
    assert BYSTANDER in emails(shop, "SELECT email FROM customers")
    # The deliveries table has no email: its rows hang off the orders through the map's
    # reference, and went with them; the bystander's delivery (order 6) is still there.
    assert emails(shop, "SELECT order_id FROM deliveries") == {1, 2, 3, 5, 6}
    contacts = emails(demo_systems / "demo_crm.sqlite3", "SELECT email FROM contacts")
    assert SUBJECT not in contacts and BYSTANDER in contacts
    assert DeletionLedger.objects.filter(system__name="demo-backups").count() == 1


def test_the_demo_crm_answers_an_export_with_our_idempotency_key(demo_systems):
    """Its 200 echoes the key, so the export is taken as done (not failed as a stray 200)."""
    request = create_request(type="access", email=SUBJECT)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])

    crm = FanoutTask.objects.get(request=request, action="export", system__name="demo-crm")
    assert (crm.status, crm.last_error, crm.result) == (TaskStatus.DONE, "", {"rows": 1})
