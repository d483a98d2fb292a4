"""Third parties who received the data: emailed, reminded, done when they confirm."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.core import mail

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import recipients
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def partner():
    return DownstreamSystem.objects.create(
        name="partner", kind="notify", actions=["delete"],
        config=json.dumps({"recipient": "privacy@partner.example", "language": "en",
                           "reminder_days": 3, "cutoff_days": 14}),
    )  # fmt: skip


def approved(at=START):
    with time_machine.travel(at, tick=False):
        request = create_request(type="deletion", email="li.lei@example.com")
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        mail.outbox.clear()
        transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    return request


def token_in(email) -> str:
    """The link's token: it rides in the fragment (``/fanout/confirm/#t=<token>``)."""
    return re.search(r"https?://\S+/fanout/confirm/#t=(\S+)", email.body).group(1)


def test_recipient_confirms_through_the_signed_link(partner, client):
    request = approved()
    [email] = [m for m in mail.outbox if m.to == ["privacy@partner.example"]]
    assert "li.lei@example.com" in email.body
    page = client.get("/fanout/confirm/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"I confirm" in page.content
    chinese = client.get("/fanout/confirm/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "我确认数据已删除" in chinese
    assert FanoutTask.objects.get().status == TaskStatus.WAITING  # opening is not confirming
    done = client.post("/fanout/confirm/", {"t": token_in(email)}, HTTP_ACCEPT_LANGUAGE="en")
    assert b"Your confirmation is recorded" in done.content
    assert FanoutTask.objects.get().status == TaskStatus.DONE
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def test_a_forged_link_is_404(partner, client):
    approved()
    assert client.post("/fanout/confirm/", {"t": "not-a-token"}).status_code == 404
    other = recipients.confirm_token(FanoutTask.objects.get())[:-3] + "abc"
    assert client.post("/fanout/confirm/", {"t": other}).status_code == 404
    assert FanoutTask.objects.get().status == TaskStatus.WAITING


def test_reminders_then_failure_at_the_cutoff(partner):
    approved()
    mail.outbox.clear()
    recipients.remind_recipients(now=START + dt.timedelta(days=2))
    assert mail.outbox == []
    recipients.remind_recipients(now=START + dt.timedelta(days=3))
    recipients.remind_recipients(now=START + dt.timedelta(days=4))  # not again so soon
    assert len(mail.outbox) == 1
    recipients.remind_recipients(now=START + dt.timedelta(days=6))
    assert len(mail.outbox) == 2
    recipients.remind_recipients(now=START + dt.timedelta(days=14))
    task = FanoutTask.objects.get()
    assert task.status == TaskStatus.FAILED and "did not confirm" in task.last_error
