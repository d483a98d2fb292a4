"""A deletion with a backup system completes when the live systems are done: the subject is
told, with the date by which the backups will have rotated; the backup task stays open and
tracked (queue filter, dashboard) until then, and its end is audited."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import reconciler
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.notifications.models import OutboundEmail
from dsar.staff import metrics
from dsar.workflow.models import Outcome, RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.shop import shop_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def systems(shop_dsn):
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["delete"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"delete": [
            "DELETE FROM orders WHERE email = %(email)s",
            "DELETE FROM customers WHERE email = %(email)s"]}}),
    )  # fmt: skip
    DownstreamSystem.objects.create(
        name="shop-backups", kind="backup", actions=["delete"],
        config=json.dumps({"retention_days": 30, "restores_into": ["shop"]}),
    )  # fmt: skip
    return shop_dsn


def pending(api):
    answer = api.get("/api/v1/staff/requests/", {"backups_pending": "true"})
    assert answer.status_code == 200
    return [row["reference"] for row in answer.json()["results"]]


def test_completes_when_live_systems_are_done_and_tracks_the_backups(systems, api_as):
    start = timezone.now()  # real time: the shop's connect timeout needs a running clock
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    assert shop_rows(systems, "SELECT email FROM customers") == [("han.mei@example.com",)]

    request.refresh_from_db()
    assert (request.status, request.outcome) == (Status.COMPLETED, Outcome.FULL)
    backup = FanoutTask.objects.get(system__name="shop-backups")
    assert backup.status == TaskStatus.WAITING  # open, tracked
    rotated_by = timezone.localdate(start + dt.timedelta(days=30)).isoformat()
    [told] = OutboundEmail.objects.filter(request_id=request.pk, template="deletion_done")
    assert rotated_by in told.body and "备份" in told.body

    api = api_as("supervisor")
    assert pending(api) == [request.reference]
    assert metrics.backups_pending() == 1

    reconciler.reconcile(now=start + dt.timedelta(days=29))
    assert FanoutTask.objects.get(pk=backup.pk).status == TaskStatus.WAITING
    reconciler.reconcile(now=start + dt.timedelta(days=30, minutes=1))
    assert FanoutTask.objects.get(pk=backup.pk).status == TaskStatus.DONE
    [end] = AuditEvent.objects.filter(request_id=request.pk, action="fanout.backup_rotated")
    assert end.payload == {"task": str(backup.pk), "system": "shop-backups"}
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED
    assert pending(api) == [] and metrics.backups_pending() == 0


def test_the_dashboard_and_queue_page_show_the_backups_still_rotating(systems, client, staff_user):
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    client.force_login(staff_user("supervisor"))
    dashboard = client.get("/staff/dashboard/").content.decode()
    assert 'href="/staff/?backups_pending=true">1 个请求</a>' in dashboard
    queue = client.get("/staff/?backups_pending=true").content.decode()
    assert f">{request.reference}</a>" in queue
    assert f">{request.reference}</a>" not in client.get("/staff/").content.decode()  # closed
