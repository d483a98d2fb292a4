"""Statutory retention: the seeded table, partial completion, and deferred deletion."""

import datetime as dt

import pytest
import time_machine

from dsar.audit.models import AuditEvent
from dsar.legal import retention
from dsar.legal.models import DeferredDeletion, RetentionRule
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import Outcome, RequestType, Status
from tests.legal.support import walk

pytestmark = pytest.mark.django_db
START = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.UTC)


def test_table_is_seeded_with_the_ecommerce_and_ride_hailing_rules():
    rules = {r.category: r for r in RetentionRule.objects.all()}
    assert rules["transaction_records"].period_months == 36
    assert "E-Commerce Law" in rules["transaction_records"].legal_basis
    assert "Art. 31" in rules["transaction_records"].legal_basis
    assert rules["ride_hailing_records"].period_months == 24


@pytest.fixture
def retained_deletion(verified, report):
    """A deletion whose subject has transaction records, completed as fan-out would."""
    with time_machine.travel(START, tick=False):
        request = verified(type=RequestType.DELETION)
        report(request, categories=["transaction_records", "learning_progress"])
        return walk(request, Status.COMPLETED)


def test_deletion_with_a_retained_category_completes_as_partial(retained_deletion):
    assert retained_deletion.outcome == Outcome.PARTIAL


def test_retained_category_is_excluded_and_its_deletion_scheduled(retained_deletion):
    [deferral] = DeferredDeletion.objects.filter(request=retained_deletion)
    assert deferral.category == "transaction_records"
    assert deferral.due_at == START.replace(year=2028)
    assert retention.excluded_categories(retained_deletion) == ["transaction_records"]


def test_partial_completion_email_lists_what_was_kept_and_why(retained_deletion):
    email = OutboundEmail.objects.get(request_id=retained_deletion.pk, template="decision_partial")
    assert "Transaction records" in email.body
    assert "E-Commerce Law of the PRC, Art. 31" in email.body
    assert "2028-06-02" in email.body
    assert "PIPL Art. 50" in email.body


def test_deferred_deletion_waits_until_the_period_ends(retained_deletion):
    with time_machine.travel(START.replace(year=2028) - dt.timedelta(minutes=1), tick=False):
        assert retention.run_due_deletions() == 0
    assert DeferredDeletion.objects.get(request=retained_deletion).done_at is None


def test_deferred_deletion_runs_when_the_period_ends(retained_deletion):
    with time_machine.travel(START.replace(year=2028), tick=False):
        assert retention.run_due_deletions() == 1
    assert DeferredDeletion.objects.get(request=retained_deletion).done_at is not None
    event = AuditEvent.objects.get(action="retention.deferred_deletion_run")
    assert event.payload["category"] == "transaction_records"


def test_deferred_deletion_runs_only_once(retained_deletion):
    with time_machine.travel(START.replace(year=2029), tick=False):
        assert retention.run_due_deletions() == 1
        assert retention.run_due_deletions() == 0


def test_beat_task_carries_out_due_deletions(retained_deletion):
    from dsar.legal.tasks import run_due_deletions

    with time_machine.travel(START.replace(year=2029), tick=False):
        assert run_due_deletions.delay().get() == 1


def test_switched_off_rule_retains_nothing(verified, report):
    RetentionRule.objects.filter(category="transaction_records").update(active=False)
    request = verified(type=RequestType.DELETION)
    report(request, categories=["transaction_records"])
    assert walk(request, Status.COMPLETED).outcome == Outcome.FULL


def test_deletion_without_retained_data_completes_in_full(verified):
    request = walk(verified(type=RequestType.DELETION), Status.COMPLETED)
    assert request.outcome == Outcome.FULL
    assert not OutboundEmail.objects.filter(template="decision_partial").exists()


def test_an_approval_leaves_the_retained_category_out_of_its_fan_out(verified, report, staff_user):
    """The approval's fan-out start excludes what the approval has just deferred (it is
    told the categories in the same call rather than reading them again)."""
    from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
    from dsar.legal.models import Finding, Severity
    from dsar.staff import services as staff_services

    DownstreamSystem.objects.create(
        name="shop-db",
        kind="notify",
        actions=["delete"],
        config="{}",
        categories=["transaction_records", "learning_progress"],
    )
    request = verified(type=RequestType.DELETION)
    report(request, categories=["transaction_records", "learning_progress"])
    advisories = Finding.objects.filter(request=request, severity=Severity.ADVISORY)
    staff_services.approve(
        request=request,
        user=staff_user("supervisor"),
        acknowledged=list(advisories.values_list("pk", flat=True)),
    )
    assert request.status == Status.PROCESSING
    [task] = FanoutTask.objects.filter(request=request, action="delete")
    assert task.status == TaskStatus.EXCLUDED
    assert "transaction_records" in task.last_error
