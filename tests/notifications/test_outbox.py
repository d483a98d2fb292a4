"""The outbox: emails are written with the change, delivered after commit, retried, audited."""

import datetime as dt

import pytest
import time_machine
from celery.signals import task_prerun
from django.core import mail
from django.db import transaction
from django.test import override_settings

from dsar.audit.models import AuditEvent
from dsar.notifications import delivery, services
from dsar.notifications.models import EmailStatus, OutboundEmail
from dsar.notifications.tasks import redrive_outbox


@pytest.fixture
def email_template(settings, tmp_path):
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "hello.subject.txt").write_text(
        "{% load i18n %}{% translate 'Yes' %} {{ reference }}"
    )
    (folder / "hello.body.txt").write_text("Reference: {{ reference }}")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    return "hello"


class FlakyBackend:
    """An email backend that fails a set number of times, then delivers to the outbox."""

    failures = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise ConnectionError("smtp down")
        mail.outbox.extend(messages)
        return len(messages)


@pytest.mark.django_db(transaction=True)
def test_sent_after_commit_in_the_chosen_language(email_template):
    with transaction.atomic():
        services.queue_email(
            to="a@example.com", template="hello", context={"reference": "R-1"}, language="en"
        )
        assert mail.outbox == []  # nothing leaves before the commit
    services.queue_email(
        to="b@example.com", template="hello", context={"reference": "R-2"}, language="zh-hans"
    )
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["a@example.com"], "Yes R-1", "Reference: R-1\n"),
        (["b@example.com"], "是 R-2", "Reference: R-2\n"),
    ]
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT).count() == 2
    events = AuditEvent.objects.filter(action="email.sent")
    assert events.count() == 2
    assert all("@" not in str(e.payload) for e in events)


@pytest.mark.django_db(transaction=True)
def test_the_emails_of_one_transaction_travel_in_one_message(email_template):
    published = []

    def record(sender=None, **kwargs):
        published.append(sender.name)

    task_prerun.connect(record, weak=False)
    try:
        with transaction.atomic():
            for n in range(3):
                services.queue_email(
                    to=f"{n}@example.com", template="hello", context={}, language="en"
                )
            with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolls back
                services.queue_email(
                    to="gone@example.com", template="hello", context={}, language="en"
                )
                raise RuntimeError
    finally:
        task_prerun.disconnect(record)
    assert published == ["dsar.notifications.tasks.deliver_emails"]
    assert sorted(m.to[0] for m in mail.outbox) == [f"{n}@example.com" for n in range(3)]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_sends_nothing(email_template):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.queue_email(to="a@example.com", template="hello", context={}, language="en")
        raise RuntimeError
    assert mail.outbox == []
    assert OutboundEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="tests.notifications.test_outbox.FlakyBackend")
def test_failure_is_retried_with_backoff_until_sent(email_template):
    FlakyBackend.failures = 2
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        email = services.queue_email(
            to="a@example.com", template="hello", context={}, language="en"
        )
        email.refresh_from_db()
        assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
        assert email.next_attempt_at == start + dt.timedelta(seconds=30)
        assert redrive_outbox() == 0  # not due yet
        clock.shift(dt.timedelta(seconds=30))
        assert redrive_outbox() == 1  # second failure, backoff doubles
        email.refresh_from_db()
        assert email.next_attempt_at == start + dt.timedelta(seconds=90)
        clock.shift(dt.timedelta(seconds=60))
        redrive_outbox()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 3)
    assert len(mail.outbox) == 1
    assert "smtp" not in email.last_error


@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="tests.notifications.test_outbox.FlakyBackend")
def test_gives_up_after_max_attempts(email_template):
    FlakyBackend.failures = 100
    with time_machine.travel(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), tick=False) as clock:
        email = services.queue_email(
            to="a@example.com", template="hello", context={}, language="en"
        )
        for _ in range(delivery.MAX_ATTEMPTS + 2):
            clock.shift(dt.timedelta(days=1))
            redrive_outbox()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, delivery.MAX_ATTEMPTS)
    assert "ConnectionError" in email.last_error
    assert AuditEvent.objects.filter(action="email.failed").count() == 1
    FlakyBackend.failures = 0


@pytest.mark.django_db(transaction=True)
def test_delivering_twice_sends_once(email_template):
    email = services.queue_email(to="a@example.com", template="hello", context={}, language="en")
    assert delivery.deliver(email.pk) == "skipped"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_recipient_and_body_are_encrypted_at_rest(email_template):
    from django.db import connection

    email = services.queue_email(
        to="secret@example.com", template="hello", context={"reference": "R-9"}, language="en"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.to, a.body FROM notifications_outboundemail a WHERE id = %s", [email.pk]
        )
        to, body = cursor.fetchone()
    assert "secret@example.com" not in to and "R-9" not in body
