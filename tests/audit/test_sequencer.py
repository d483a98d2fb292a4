"""Appends that do not wait for each other, and the one writer that gives them their places."""

import datetime as dt
import io
import json
import threading

import pytest
from celery.schedules import maybe_schedule
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from config.celery import app
from dsar.audit.chain import GENESIS_HASH, legacy_digest, own_fields
from dsar.audit.models import AuditEvent, ChainHead, write_links
from dsar.audit.sequencer import awaiting_count, sequence_events
from dsar.audit.services import Actor, Event, record_event, record_events
from dsar.audit.verification import check_trail

pytestmark = pytest.mark.django_db


def append(action: str = "test.event", **payload) -> AuditEvent:
    return record_event(action=action, actor=Actor.system("test"), payload=payload)


def places() -> list[tuple[int, int]]:
    """(id, seq) of every event, by place."""
    return list(AuditEvent.objects.in_order().values_list("id", "seq"))


def raw(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify(*args) -> str:
    call_command("verify_audit", *args, stdout=(out := io.StringIO()))
    return out.getvalue()


class Holder(threading.Thread):
    """A second connection that appends an event inside a transaction and keeps it open until
    told to commit."""

    def __init__(self):
        super().__init__(daemon=True)
        self.appended, self.commit, self.done = threading.Event(), threading.Event(), False
        self.event_id = None
        self.error = None

    def run(self):
        try:
            with transaction.atomic():
                self.event_id = append("held").pk
                self.appended.set()
                assert self.commit.wait(30)
            self.done = True
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.appended.set()
        finally:
            connection.close()

    def finish(self):
        self.commit.set()
        self.join(30)
        assert self.error is None and self.done


@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_does_not_hold_up_another_append_and_commits_into_a_later_place():
    """One transaction appends and stays open; another appends and commits meanwhile. Neither
    waits (a lock held to the first one's commit would time out the second: lock_timeout).
    The event that commits late has the lower id but is sequenced later, never skipped."""
    first = append("first")
    holder = Holder()
    holder.start()
    assert holder.appended.wait(30) and holder.error is None
    raw("SET lock_timeout = '2s'")
    try:
        with transaction.atomic():
            meanwhile = append("meanwhile")
    finally:
        raw("SET lock_timeout = 0")
    assert holder.event_id < meanwhile.pk  # written first, committed last
    assert sequence_events() == 2  # the held event is not visible yet: not given a place
    assert places() == [(first.pk, 1), (meanwhile.pk, 2)]
    holder.finish()
    assert awaiting_count() == 1
    assert sequence_events() == 1
    assert places() == [(first.pk, 1), (meanwhile.pk, 2), (holder.event_id, 3)]
    assert "3 events verified, 0 awaiting sequencing" in verify()


def test_places_are_gapless_in_the_order_events_were_committed_and_written():
    early = [append(n=i).pk for i in range(3)]
    assert AuditEvent.objects.filter(seq__isnull=False).count() == 0  # appends only insert
    assert sequence_events(batch_size=2) == 3  # two batches
    late = [e.pk for e in record_events([Event("test.batch", Actor.system()) for _ in range(4)])]
    assert sequence_events(batch_size=2) == 4
    assert places() == [(pk, seq) for seq, pk in enumerate(early + late, start=1)]
    head = ChainHead.objects.get(pk=1)
    assert head.last_seq == 7 and head.last_hash == AuditEvent.objects.get(seq=7).hash
    assert sequence_events() == 0  # nothing left


def test_readers_show_events_awaiting_their_place_after_the_sequenced_ones_in_order():
    one = append("one")
    sequence_events()
    two, three = append("two"), append("three")
    assert [e.pk for e in AuditEvent.objects.all()] == [one.pk, two.pk, three.pk]
    assert [e.pk for e in AuditEvent.objects.in_order()] == [one.pk, two.pk, three.pk]
    sequence_events()  # the order shown before is the order given
    assert list(AuditEvent.objects.in_order().values_list("pk", "seq")) == [
        (one.pk, 1), (two.pk, 2), (three.pk, 3),
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("wait", [True, False], ids=["waiting", "beat"])
def test_two_sequencers_racing_make_one_chain(wait):
    record_events([Event("test.race", Actor.system(), payload={"n": i}) for i in range(1200)])
    start, totals, errors = threading.Barrier(2), [], []

    def sequencer():
        try:
            start.wait(10)
            totals.append(sequence_events(wait=wait, batch_size=100))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sequencer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sum(totals) == 1200
    assert [seq for _, seq in places()] == list(range(1, 1201))
    report = check_trail()
    assert report.intact and report.sequenced == 1200 and report.awaiting == 0


def test_the_sequencer_writes_only_events_without_a_place():
    event = append()
    sequence_events()
    assert write_links([(event.pk, 99, GENESIS_HASH, "f" * 64)]) == 0
    assert AuditEvent.objects.get(pk=event.pk).seq == 1


def test_an_event_edited_before_it_is_sequenced_is_named():
    kept, edited = append(n=1), append(n=2)
    raw("UPDATE audit_auditevent SET payload = %s WHERE id = %s", ['{"n": 3}', edited.pk])
    with pytest.raises(CommandError, match=rf"event id {edited.pk}, not yet sequenced: its cont"):
        verify("--no-sequence")
    assert AuditEvent.objects.filter(seq__isnull=False).count() == 0  # left as it was
    with pytest.raises(CommandError, match=r"event #2: its contents were changed"):
        verify()  # sequenced, the edit is found at its place
    assert AuditEvent.objects.get(pk=kept.pk).seq == 1


def test_the_count_awaiting_sequencing_is_reported():
    append()
    sequence_events()
    append(), append()
    assert "1 events verified, 2 awaiting sequencing" in verify("--no-sequence")
    assert "3 events verified, 0 awaiting sequencing" in verify()


def test_a_copied_event_is_not_a_second_event():
    original = append(n=1)
    sequence_events()
    raw(
        "INSERT INTO audit_auditevent (uid, occurred_at, actor_kind, actor_id, action, "
        "request_id, from_status, to_status, payload, digest, prev_hash, hash) "
        "SELECT gen_random_uuid(), occurred_at, actor_kind, actor_id, action, request_id, "
        "from_status, to_status, payload, digest, '', '' FROM audit_auditevent WHERE id = %s",
        [original.pk],
    )
    with pytest.raises(CommandError, match=r"event #2: its contents were changed"):
        verify()


def test_a_rewritten_link_is_named():
    for _ in range(3):
        append()
    sequence_events()
    raw("UPDATE audit_auditevent SET hash = %s WHERE seq = 2", ["e" * 64])
    with pytest.raises(CommandError, match=r"event #2: its place in the chain was changed"):
        verify()


def test_a_removed_head_is_named_and_the_sequencer_does_not_start_over():
    append(), append()
    sequence_events()
    raw("DELETE FROM audit_chainhead")
    append()
    with pytest.raises(Exception, match="chain head is missing"):
        sequence_events()
    with pytest.raises(CommandError, match=r"event #2: the chain head was removed"):
        verify("--no-sequence")


def test_a_removed_tail_of_sequenced_events_is_named():
    for _ in range(4):
        append()
    sequence_events()
    raw("DELETE FROM audit_auditevent WHERE seq >= 3")
    with pytest.raises(CommandError, match=r"event #3: events after this point were removed"):
        verify()


def legacy_rows(count: int) -> str:
    """Events as the earlier scheme wrote them (one digest over link and fields, no uid),
    with the head where that scheme left it; returns the last hash."""
    prev = GENESIS_HASH
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for seq in range(1, count + 1):
        fields = own_fields(
            uid=None, occurred_at=at, actor_kind="system", actor_id="old", action="old.event",
            request_id=None, from_status="", to_status="", payload={"n": seq},
        )  # fmt: skip
        digest = legacy_digest(key=settings.DSAR_AUDIT_KEY, prev_hash=prev, fields=fields, seq=seq)
        raw(
            "INSERT INTO audit_auditevent (seq, occurred_at, actor_kind, actor_id, action, "
            "from_status, to_status, payload, digest, prev_hash, hash) "
            "VALUES (%s, %s, 'system', 'old', 'old.event', '', '', %s, '', %s, %s)",
            [seq, at, json.dumps({"n": seq}), prev, digest],
        )
        prev = digest
    raw("UPDATE audit_chainhead SET last_seq = %s, last_hash = %s WHERE id = 1", [count, prev])
    return prev


def test_events_of_the_earlier_scheme_keep_verifying_and_the_chain_goes_on_from_them():
    ChainHead.objects.get_or_create(pk=1)
    last = legacy_rows(3)
    append("new")
    sequence_events()
    assert AuditEvent.objects.get(seq=4).prev_hash == last
    assert "4 events verified" in verify()
    raw("UPDATE audit_auditevent SET payload = %s WHERE seq = 2", ['{"n": 9}'])
    with pytest.raises(CommandError, match=r"event #2: its contents were changed"):
        verify()


def test_a_new_event_cannot_pass_for_one_of_the_earlier_scheme():
    append(), append()
    sequence_events()
    raw("UPDATE audit_auditevent SET digest = '', uid = NULL WHERE seq = 2")
    with pytest.raises(CommandError, match=r"event #2: its contents were changed"):
        verify()


def test_beat_runs_the_sequencer_every_few_seconds_by_its_task_name():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-sequence"]
    assert maybe_schedule(entry["schedule"]).run_every <= dt.timedelta(seconds=10)
    app.loader.import_default_modules()
    task = app.tasks[entry["task"]]  # the name a worker looks the message up by
    append(), append()
    assert task.apply().get() == 2
    assert awaiting_count() == 0
