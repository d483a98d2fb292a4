"""Backups are not edited: the deletion ledger re-applies deletions after a restore, and the
backup task finishes once the backups have rotated."""

import datetime as dt
import json
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import reconciler
from dsar.fanout.models import DeletionLedger, DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.shop import shop_rows

pytestmark = pytest.mark.django_db(transaction=True)


def test_restore_then_replay_deletes_the_subject_again(shop_dsn, tmp_path):
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
    dump = tmp_path / "shop.sql"
    subprocess.run(["pg_dump", "--clean", "--no-owner", "-f", str(dump), shop_dsn], check=True)

    # Real time here: psycopg's connect timeout needs a running clock.
    start = timezone.now()
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    assert shop_rows(shop_dsn, "SELECT email FROM customers") == [("han.mei@example.com",)]
    backup = FanoutTask.objects.get(system__kind="backup")
    assert backup.status == TaskStatus.WAITING
    with connection.cursor() as cursor:  # the ledger keeps the keys encrypted at rest
        cursor.execute("SELECT keys FROM fanout_deletionledger")
        [(stored,)] = cursor.fetchall()
    assert "li.lei" not in stored and DeletionLedger.objects.get().keys.startswith('{"email"')
    # The live system is done: the request completes; the backup task waits on, tracked.
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED

    # Restore the backup taken before the deletion: the subject is back.
    subprocess.run(["psql", "-q", "-f", str(dump), shop_dsn], check=True, capture_output=True)
    assert ("li.lei@example.com",) in shop_rows(shop_dsn, "SELECT email FROM customers")
    out = StringIO()
    since = timezone.localdate(start).isoformat()
    call_command("replay_deletions", "--since", since, stdout=out)
    assert "Replayed 1 deletions" in out.getvalue()
    assert shop_rows(shop_dsn, "SELECT email FROM customers") == [("han.mei@example.com",)]
    assert shop_rows(shop_dsn, "SELECT count(*) FROM orders") == [(1,)]

    reconciler.reconcile(now=start + dt.timedelta(days=29))
    assert FanoutTask.objects.get(pk=backup.pk).status == TaskStatus.WAITING
    reconciler.reconcile(now=start + dt.timedelta(days=30, minutes=1))
    assert FanoutTask.objects.get(pk=backup.pk).status == TaskStatus.DONE
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def test_replay_needs_a_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="date like"):
        call_command("replay_deletions", "--since", "last week")
