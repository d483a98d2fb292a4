"""The sweep: each warning and breach email exactly once, whoever runs it and how often."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dsar.audit.services import Actor
from dsar.sla import services
from dsar.sla.models import SlaNotice
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import transition

VERIFIED = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # due end of 17 March (16:00 UTC)
WARN = dt.datetime(2026, 3, 14, 16, 0, tzinfo=dt.UTC)  # 3 days before
DUE = dt.datetime(2026, 3, 17, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff(staff_user):
    boss = staff_user("supervisor", "boss")
    boss.email = "boss@corp.example"
    boss.save()
    agent = staff_user("agent", "ana")
    agent.email = "ana@corp.example"
    agent.save()
    return agent


def verified_requests(make_request, n, assignee=None):
    with time_machine.travel(VERIFIED, tick=False):
        requests = [make_request(status=Status.IN_REVIEW) for _ in range(n)]
    RightsRequest.objects.filter(pk__in=[r.pk for r in requests]).update(assignee=assignee)
    return requests


@pytest.mark.django_db(transaction=True)
def test_warning_then_breach_go_to_assignee_and_supervisors_once(make_request, staff, settings):
    settings.DSAR_ESCALATION_EMAILS = ["dpo@corp.example"]
    [request] = verified_requests(make_request, 1, assignee=staff)
    mail.outbox.clear()
    assert services.sweep(now=WARN - dt.timedelta(minutes=1)) == {"warning": 0, "breach": 0}
    assert services.sweep(now=WARN) == {"warning": 1, "breach": 0}
    assert services.sweep(now=WARN + dt.timedelta(hours=1)) == {"warning": 0, "breach": 0}
    assert services.sweep(now=DUE) == {"warning": 0, "breach": 1}
    assert services.sweep(now=DUE + dt.timedelta(days=1)) == {"warning": 0, "breach": 0}
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(["ana@corp.example", "boss@corp.example", "dpo@corp.example"] * 2)
    assert all(request.reference in m.subject for m in mail.outbox)
    assert all(f"/staff/requests/{request.pk}/" in m.body for m in mail.outbox)
    assert SlaNotice.objects.filter(request=request).count() == 2


@pytest.mark.django_db(transaction=True)
def test_breach_email_sent_once_when_two_sweeps_race(make_request, staff):
    requests = verified_requests(make_request, 6)
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(services.sweep(now=DUE))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["breach"] for r in results) == 6
    assert SlaNotice.objects.count() == 6
    # One supervisor: one email per request, each naming its own request.
    named = sorted(re.search(r"DSAR-\d{4}-\d{6}", m.subject).group() for m in mail.outbox)
    assert named == sorted(r.reference for r in requests)


@pytest.mark.django_db(transaction=True)
def test_a_request_closed_before_its_deadline_gets_nothing(make_request, staff):
    [request] = verified_requests(make_request, 1)
    with time_machine.travel(VERIFIED + dt.timedelta(days=1), tick=False):
        transition(request, to=Status.WITHDRAWN, actor=Actor.subject())
    mail.outbox.clear()
    assert services.sweep(now=DUE + dt.timedelta(days=1)) == {"warning": 0, "breach": 0}
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_paused_request_is_not_warned(make_request, staff_user, staff):
    [request] = verified_requests(make_request, 1)
    with time_machine.travel(VERIFIED + dt.timedelta(days=1), tick=False):
        transition(request, to=Status.AWAITING_SUBJECT, actor=Actor.staff(staff))
    mail.outbox.clear()
    assert services.sweep(now=DUE + dt.timedelta(days=1)) == {"warning": 0, "breach": 0}


@pytest.mark.django_db(transaction=True)
def test_extension_gives_a_new_warning_for_the_new_deadline(make_request, staff):
    [request] = verified_requests(make_request, 1)
    services.sweep(now=WARN)
    with time_machine.travel(WARN + dt.timedelta(hours=1), tick=False):
        services.extend(request=request, user=staff, days=10, reason="r")
    mail.outbox.clear()
    assert services.sweep(now=WARN + dt.timedelta(days=1)) == {"warning": 0, "breach": 0}
    new_warn = request.due_at - dt.timedelta(days=3)
    assert services.sweep(now=new_warn) == {"warning": 1, "breach": 0}


@pytest.mark.django_db(transaction=True)
def test_daily_digest_lists_exactly_the_open_breached_requests_once(make_request, staff):
    breached = verified_requests(make_request, 2)
    with time_machine.travel(DUE - dt.timedelta(days=10), tick=False):
        fresh = make_request(status=Status.IN_REVIEW)
    closed = verified_requests(make_request, 1)[0]
    with time_machine.travel(VERIFIED + dt.timedelta(days=1), tick=False):
        transition(closed, to=Status.WITHDRAWN, actor=Actor.subject())
    mail.outbox.clear()
    assert services.send_daily_digest(now=DUE + dt.timedelta(hours=1)) == 2
    assert services.send_daily_digest(now=DUE + dt.timedelta(hours=2)) is None
    [digest] = [m for m in mail.outbox if m.to == ["boss@corp.example"]]
    for r in breached:
        assert r.reference in digest.body
    assert fresh.reference not in digest.body and closed.reference not in digest.body


@pytest.mark.django_db(transaction=True)
def test_sla_sweep_command(make_request, staff):
    verified_requests(make_request, 1)
    with time_machine.travel(DUE, tick=False):
        from io import StringIO

        out = StringIO()
        call_command("sla_sweep", stdout=out)
        call_command("sla_sweep", stdout=out)
    assert out.getvalue().splitlines() == [
        "SLA sweep: 0 warnings, 1 breaches.",
        "SLA sweep: 0 warnings, 0 breaches.",
    ]


@pytest.mark.django_db(transaction=True)
def test_each_staff_member_gets_the_alert_in_their_language(make_request, staff):
    from dsar.staff.models import StaffProfile

    StaffProfile.objects.create(user=staff, language="en")  # the assignee reads English
    [request] = verified_requests(make_request, 1, assignee=staff)
    mail.outbox.clear()
    services.sweep(now=DUE)
    by_address = {m.to[0]: m.subject for m in mail.outbox}
    assert by_address["ana@corp.example"].startswith("Deadline missed")
    assert by_address["boss@corp.example"].startswith("已超期")  # default: Chinese


@pytest.mark.django_db(transaction=True)
def test_sweeping_twice_sends_nothing_new(make_request, staff):
    verified_requests(make_request, 3)
    assert services.sweep(now=DUE) == {"warning": 0, "breach": 3}
    sent = len(mail.outbox)
    assert services.sweep(now=DUE) == {"warning": 0, "breach": 0}
    assert len(mail.outbox) == sent


@pytest.mark.django_db(transaction=True)
def test_sweep_works_through_more_than_one_batch(make_request, staff):
    verified_requests(make_request, 5)
    assert services.sweep(now=DUE, batch=2) == {"warning": 0, "breach": 5}


@pytest.mark.django_db(transaction=True)
def test_sweep_cost_does_not_grow_with_requests_not_yet_due(make_request, staff):
    from dsar.branding.services import load

    verified_requests(make_request, 1)
    load()  # both sweeps find the branding copied in the process, as a running worker does
    with CaptureQueriesContext(connection) as alone:
        assert services.sweep(now=WARN) == {"warning": 1, "breach": 0}
    with time_machine.travel(VERIFIED + dt.timedelta(days=5), tick=False):
        for _ in range(8):
            make_request(status=Status.IN_REVIEW)  # their thresholds are days later
    verified_requests(make_request, 1)
    with CaptureQueriesContext(connection) as among_others:
        assert services.sweep(now=WARN) == {"warning": 1, "breach": 0}
    assert len(among_others) == len(alone)


@pytest.mark.django_db(transaction=True)
def test_warning_names_the_last_day_of_the_period(make_request, staff):
    verified_requests(make_request, 1)
    mail.outbox.clear()
    services.sweep(now=WARN)
    [email] = mail.outbox
    # The supervisor reads Chinese by default.
    assert "须在 2026年3月17日 24:00（北京时间，UTC+8）前答复" in email.body


@pytest.mark.django_db(transaction=True)
def test_breach_and_digest_show_the_deadline_as_the_end_of_its_last_day(make_request, staff):
    verified_requests(make_request, 1)
    services.sweep(now=WARN)
    mail.outbox.clear()
    services.sweep(now=DUE)
    services.send_daily_digest(now=DUE + dt.timedelta(hours=1))
    breach, digest = [m for m in mail.outbox if m.to == ["boss@corp.example"]]
    for email in (breach, digest):
        assert "2026年3月17日 24:00（北京时间，UTC+8）" in email.body
        assert "2026-03-18 00:00" not in email.body and "2026-03-17 24:00" not in email.body
