"""An export attempt whose worker was killed leaves its chunks in the export storage, never
adopted: they go when a later attempt's part is adopted, or with the request's record."""

import datetime as dt

import pytest
from django.utils import timezone

from dsar.exports import parts, sealed, services
from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.workflow.services import create_request

pytestmark = pytest.mark.django_db
ROWS = [{"table": "orders", "id": i, "item": f"item {i}"} for i in range(25)]


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    settings.DSAR_EXPORT_CHUNK_ROWS = 10  # the 25 rows fill two chunks before the end
    return tmp_path / "exports"


@pytest.fixture
def task():
    request = create_request(type="access", email="li.lei@example.com")
    system = DownstreamSystem.objects.create(
        name="shop", kind="notify", actions=["export"], config="{}"
    )
    return FanoutTask.objects.create(
        request=request, system=system, action="export", attempts=1,
        next_attempt_at=timezone.now(),
    )  # fmt: skip


def files_of(export_dir, task, attempt) -> list:
    folder = export_dir / parts.prefix_for(task.pk, attempt)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def killed_attempt(task) -> None:
    """What a worker killed in the middle of an export leaves: chunks, no manifest."""
    services.open_part(task).write(ROWS)


def test_a_killed_attempts_chunks_go_when_a_later_part_is_adopted(task, export_dir):
    killed_attempt(task)
    assert files_of(export_dir, task, 1) == ["000000.jsonl.enc", "000001.jsonl.enc"]

    task.attempts = 2
    writer = services.open_part(task)
    writer.write(ROWS)
    writer.finish()
    part = services.store_part(task=task)

    assert part.prefix == parts.prefix_for(task.pk, 2) and part.row_count == len(ROWS)
    assert files_of(export_dir, task, 1) == []
    assert files_of(export_dir, task, 2) == [
        "000000.jsonl.enc", "000001.jsonl.enc", "000002.jsonl.enc", "manifest.enc",
    ]  # fmt: skip
    assert sealed.storage().exists(f"{part.prefix}/manifest.enc")


def test_a_killed_attempt_of_a_task_never_done_goes_with_the_record(task, export_dir):
    killed_attempt(task)
    services.anonymise(task.request, now=timezone.now() + dt.timedelta(days=1))
    assert files_of(export_dir, task, 1) == []
