"""The task lifecycle: one table of moves, one function that makes them."""

import ast
import json
from pathlib import Path

import pytest

from dsar.fanout import lifecycle
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.services import create_request

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def task():
    system = DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"],
        config=json.dumps({"url": "http://127.0.0.1:9/", "secret": "s" * 20}),
    )  # fmt: skip
    request = create_request(type="deletion", email="li.lei@example.com")
    return FanoutTask.objects.create(
        request=request, system=system, action="delete", status=TaskStatus.DONE,
        next_attempt_at=request.received_at,
    )  # fmt: skip


def test_an_illegal_move_is_refused_and_changes_nothing(task):
    with pytest.raises(lifecycle.TaskTransitionError, match="done → running"):
        lifecycle.move([task.pk], frm={TaskStatus.DONE}, to=TaskStatus.RUNNING)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_move_applies_only_while_the_expected_status_holds(task):
    assert lifecycle.move([task.pk], frm={TaskStatus.FAILED}, to=TaskStatus.PENDING) == 0
    assert lifecycle.move([task.pk], frm={TaskStatus.DONE}, to=TaskStatus.PENDING) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.PENDING


def test_by_default_a_move_comes_from_any_status_the_table_allows(task):
    assert lifecycle.sources_of(TaskStatus.EXCLUDED) == frozenset()
    with pytest.raises(lifecycle.TaskTransitionError):
        lifecycle.move([task.pk], to=TaskStatus.EXCLUDED)  # only ever created excluded
    assert lifecycle.move([task.pk], to=TaskStatus.PENDING) == 1


def _status_updates(path: Path) -> list[str]:
    """Queryset ``.update(status=…)`` calls on fan-out tasks in one module."""
    text = path.read_text()
    found = []
    for node in ast.walk(ast.parse(text)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("update", "bulk_update"):
            continue
        receiver = ast.get_source_segment(text, node.func.value) or ""
        keywords = {k.arg for k in node.keywords}
        if ("FanoutTask" in receiver or "fanout_tasks" in receiver) and (
            "status" in keywords or node.func.attr == "bulk_update"
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_other_module_writes_a_tasks_status():
    offenders = [
        line
        for path in (ROOT / "dsar").rglob("*.py")
        if "migrations" not in path.parts and path.name != "lifecycle.py"
        for line in _status_updates(path)
    ]
    assert offenders == []


@pytest.mark.django_db(transaction=True)
def test_an_outcome_its_event_and_the_next_claim_commit_in_one_statement():
    """Outside a transaction an outcome is one statement (``outcomes.record``): it moves the
    task, appends its event only if it moved, and claims the next task; a second recording of
    the same outcome (the task re-driven meanwhile) is skipped and writes no event."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dsar.audit.chain import own_digest, own_fields
    from dsar.audit.models import AuditEvent
    from dsar.fanout.connectors import DONE, Outcome
    from dsar.fanout.outcomes import record

    system = DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"],
        config=json.dumps({"url": "http://127.0.0.1:9/", "secret": "s" * 20}),
    )  # fmt: skip
    now = timezone.now()
    running, waiting = (
        FanoutTask.objects.create(
            request=create_request(type="deletion", email=f"s{i}@example.com"),
            system=system,
            action="delete",
            status=status,
            attempts=attempts,
            next_attempt_at=now,
        )  # fmt: skip
        for i, (status, attempts) in enumerate([(TaskStatus.RUNNING, 1), (TaskStatus.PENDING, 0)])
    )
    claim = lifecycle.Move(
        waiting.pk, to=TaskStatus.RUNNING, frm=frozenset({TaskStatus.PENDING}),
        fields={"attempts": 1, "updated_at": now},
        where={"attempts": 0, "next_attempt_at__lte": now},
    )  # fmt: skip
    events = AuditEvent.objects.filter(action="fanout.done", request_id=running.request_id)

    with CaptureQueriesContext(connection) as queries:
        recorded = record(running, Outcome(DONE), settle=False, claim=claim)
    assert (recorded.status, recorded.claimed) == (TaskStatus.DONE, True)
    assert len(queries) == 1
    running.refresh_from_db(), waiting.refresh_from_db()
    assert (running.status, running.lease_until) == (TaskStatus.DONE, None)
    assert (waiting.status, waiting.attempts) == (TaskStatus.RUNNING, 1)
    assert events.count() == 1
    event = events.get()
    assert event.payload == {"task": str(running.pk), "action": "delete", "attempt": 1}
    fields = {name: getattr(event, name) for name in (
        "uid", "occurred_at", "actor_kind", "actor_id", "action", "request_id", "from_status",
        "to_status", "payload")}  # fmt: skip
    assert event.digest == own_digest(key=settings.DSAR_AUDIT_KEY, fields=own_fields(**fields))

    again = record(running, Outcome(DONE), settle=False, claim=claim)
    assert (again.status, again.claimed) == ("skipped", False)
    assert events.count() == 1
