"""Statutory retention in the fan-out: a system holding a retained category anonymises now
and deletes when the period ends."""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.legal.models import DeferredDeletion, RetentionRule
from dsar.legal.retention import run_due_deletions
from dsar.workflow.models import Outcome, RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.shop import shop_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(shop_dsn):
    # Seeded by a migration, but transactional tests flush tables between tests.
    RetentionRule.objects.get_or_create(
        category="transaction_records",
        defaults={"name": "Transaction records", "legal_basis": "E-Commerce Law Art. 31",
                  "period_months": 36, "start_event": "transaction_completed"},
    )  # fmt: skip
    statements = {
        "check": "SELECT DISTINCT 'transaction_records' AS category FROM orders "
        "WHERE email = %(email)s",
        "anonymise": "UPDATE customers SET name = NULL, email = NULL WHERE email = %(email)s",
        "delete": ["DELETE FROM orders WHERE email = %(email)s",
                   "DELETE FROM customers WHERE email = %(email)s"],
    }  # fmt: skip
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check", "anonymise", "delete"],
        categories=["transaction_records"],
        config=json.dumps({"dsn": shop_dsn, "statements": statements}),
    )  # fmt: skip
    return shop_dsn


def approved_deletion():
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())  # the check reports
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    return RightsRequest.objects.get(pk=request.pk)


def test_retained_records_are_kept_and_the_rest_anonymised(shop):
    request = approved_deletion()
    assert (request.status, request.outcome) == (Status.COMPLETED, Outcome.PARTIAL)
    delete = FanoutTask.objects.get(action="delete")
    assert delete.status == TaskStatus.EXCLUDED
    assert "transaction_records" in delete.last_error
    assert FanoutTask.objects.get(action="anonymise").status == TaskStatus.DONE
    assert shop_rows(shop, "SELECT count(*) FROM orders WHERE email = 'li.lei@example.com'") == [
        (2,)
    ]
    assert shop_rows(shop, "SELECT name FROM customers WHERE account = 'acct-1'") == [(None,)]


def test_retained_records_are_deleted_when_the_period_ends(shop):
    approved_deletion()
    # The period ends (legal's deadline arithmetic is tested there). No clock travel here:
    # psycopg's connect timeout misbehaves under a travelled clock.
    DeferredDeletion.objects.update(due_at=timezone.now() - dt.timedelta(seconds=1))
    assert run_due_deletions() == 1
    delete = FanoutTask.objects.get(action="delete")
    assert (delete.status, delete.attempts) == (TaskStatus.DONE, 1)
    assert shop_rows(shop, "SELECT email FROM orders") == [("han.mei@example.com",)]


def test_retention_not_yet_over_deletes_nothing(shop):
    approved_deletion()
    with time_machine.travel(timezone.now() + dt.timedelta(days=30), tick=True):
        assert run_due_deletions() == 0
    assert FanoutTask.objects.get(action="delete").status == TaskStatus.EXCLUDED
    assert len(shop_rows(shop, "SELECT * FROM orders")) == 3
