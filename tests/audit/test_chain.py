import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from dsar.audit.models import AppendOnlyError, AuditEvent
from dsar.audit.sequencer import sequence_events
from dsar.audit.services import Actor, appended_together, record_event


def append(n: int) -> list[AuditEvent]:
    """``n`` events, sequenced: their places are known."""
    events = [
        record_event(action="test.event", actor=Actor.system("test"), payload={"n": i})
        for i in range(n)
    ]
    sequence_events()
    return [AuditEvent.objects.get(pk=event.pk) for event in events]


def raw(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify() -> str:
    call_command("verify_audit", stdout=(out := __import__("io").StringIO()))
    return out.getvalue()


@pytest.mark.django_db
def test_clean_chain_verifies():
    append(5)
    assert "5 events verified, 0 awaiting sequencing" in verify()


@pytest.mark.django_db
def test_edited_event_is_named():
    events = append(5)
    raw("UPDATE audit_auditevent SET payload = %s WHERE seq = %s", ['{"n": 99}', events[2].seq])
    with pytest.raises(CommandError, match=rf"event #{events[2].seq}: its contents were changed"):
        verify()


@pytest.mark.django_db
def test_deleted_event_is_named():
    events = append(5)
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    with pytest.raises(CommandError, match=rf"event #{events[1].seq} is missing"):
        verify()


@pytest.mark.django_db
def test_deleted_newest_event_is_detected():
    events = append(3)
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [events[-1].seq])
    with pytest.raises(CommandError, match="were removed"):
        verify()


@pytest.mark.django_db
def test_reordered_events_are_named():
    events = append(5)
    a, b = events[1].seq, events[3].seq
    raw("UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", [a])
    raw("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [a, b])
    raw("UPDATE audit_auditevent SET seq = %s WHERE seq = -1", [b])
    with pytest.raises(CommandError, match=rf"event #{a}"):
        verify()


@pytest.mark.django_db
def test_rewritten_hashes_without_the_key_do_not_verify(settings):
    events = append(3)
    # Someone who can write to the database but lacks DSAR_AUDIT_KEY recomputes a digest.
    settings.DSAR_AUDIT_KEY = "a-guessed-key"
    forged = record_event(action="forged", actor=Actor.system("x"))
    settings.DSAR_AUDIT_KEY = "test-only-audit-key"
    with pytest.raises(CommandError, match=rf"event #{events[-1].seq + 1}: its contents"):
        verify()  # sequenced first: the forged digest is then found at its place
    assert AuditEvent.objects.get(pk=forged.pk).seq == events[-1].seq + 1


@pytest.mark.django_db
def test_orm_refuses_to_change_or_remove_events():
    event = append(1)[0]
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.django_db
def test_payloads_refuse_personal_data_keys():
    with pytest.raises(ValueError, match="email"):
        record_event(action="x", actor=Actor.system(), payload={"email": "a@example.com"})
    assert AuditEvent.objects.count() == 0


def actions() -> list[str]:
    return list(AuditEvent.objects.in_order().values_list("action", flat=True))


@pytest.mark.django_db
def test_events_appended_together_land_in_order_when_the_block_ends():
    with transaction.atomic(), appended_together():
        record_event(action="first", actor=Actor.system("test"))
        record_event(action="second", actor=Actor.system("test"))
        assert actions() == []  # nothing inserted yet
    assert actions() == ["first", "second"]
    assert "2 events verified" in verify()


@pytest.mark.django_db
def test_a_rolled_back_nested_block_drops_only_its_own_events():
    with transaction.atomic(), appended_together():
        record_event(action="kept", actor=Actor.system("test"))
        with pytest.raises(ValueError), transaction.atomic(), appended_together():
            record_event(action="rolled back", actor=Actor.system("test"))
            raise ValueError
    assert actions() == ["kept"]


@pytest.mark.django_db
def test_a_failed_block_appends_nothing():
    with pytest.raises(ValueError), transaction.atomic(), appended_together():
        record_event(action="lost", actor=Actor.system("test"))
        raise ValueError
    assert actions() == []
    record_event(action="after", actor=Actor.system("test"))  # the buffer is gone too
    assert actions() == ["after"]


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_appending_together_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"), appended_together():
        pass
