"""The one notifier: every notice reaches the subject on the channel they gave at intake.

A subject who gave only a phone number gets each notice as a short text in their language
ending with their status link; a subject with an email address gets emails and no text.
Each story goes through the product's own service and the real outbox, delivered after
commit by the file SMS backend.
"""

import json
import re

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from dsar.audit.models import AuditEvent
from dsar.legal.decisions import deny_request
from dsar.notifications.delivery import deliver
from dsar.notifications.models import MessageChannel, OutboundEmail
from dsar.notifications.tasks import redrive_outbox
from dsar.sla.services import extend
from dsar.staff.services import request_info
from dsar.verification.tokens import read_status_token
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import transition
from tests.factories import ACTORS

PHONE, PHONE_E164 = "13912345678", "+8613912345678"
LANGUAGES = ["en", "zh-hans"]
# One phrase of each text per language: the message is the one asked for, in that language.
PHRASES = {
    "receipt": {"en": "We received your request", "zh-hans": "我们已收到您的请求"},
    "staff_message": {"en": "We paused the clock", "zh-hans": "处理时限暂停计算"},
    "sla_extended": {"en": "We need more time", "zh-hans": "需要更多时间"},
    "decision_denied": {"en": "We refused request", "zh-hans": "我们已拒绝请求"},
    "correction_done": {"en": "We handled your correction", "zh-hans": "您的更正请求"},
    "export_ready": {"en": "is ready. Download it", "zh-hans": "副本已备好"},
}


@pytest.fixture
def sms_dir(settings, tmp_path):
    settings.DSAR_SMS_DIR = str(tmp_path / "sms")
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    cache.clear()  # the per-address message allowance of intake
    yield tmp_path / "sms"
    cache.clear()


def texts(folder) -> list[dict]:
    if not folder.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def file_request(make_request, *, language, status, type=RequestType.ACCESS, **address):
    return make_request(type=type, status=status, language=language, **address)


def question(request, staff_user):
    request_info(request=request, user=staff_user("agent"), reason="Which order number?")


def extension(request, staff_user):
    extend(request=request, user=staff_user("supervisor"), days=15, reason="Many systems.")


def denial(request, staff_user):
    deny_request(
        request=request,
        user=staff_user("legal"),
        basis="legal_obligation",
        explanation="We could not match you to an account.",
    )


def completion(request, staff_user):
    """The last downstream task is done: a correction's outcome, or an access package."""
    transition(request, to=Status.COMPLETED, actor=ACTORS["system"], outcome="full")


# (what staff or the system do, the notice it sets off, the type and status it starts from)
STORIES = [
    (question, "staff_message", RequestType.ACCESS, Status.IN_REVIEW),
    (extension, "sla_extended", RequestType.ACCESS, Status.IN_REVIEW),
    (denial, "decision_denied", RequestType.ACCESS, Status.IN_REVIEW),
    (completion, "correction_done", RequestType.CORRECTION, Status.PROCESSING),
    (completion, "export_ready", RequestType.ACCESS, Status.PROCESSING),
]


def assert_short_text_with_status_link(message: dict, request, template: str, language: str):
    assert message["to"] == PHONE_E164
    assert request.reference in message["text"]
    assert PHRASES[template][language] in message["text"]
    link = message["text"].splitlines()[-1]  # the status link ends every notice
    match = re.fullmatch(r"https?://[^#\s]+/requests/([0-9a-f-]{36})/#t=(\S+)", link)
    assert match and read_status_token(match.group(2), request.pk) == request.pk


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_only_subject_gets_the_receipt_by_sms(
    language, sms_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = APIClient().post(
            "/api/v1/requests/",
            {"type": "access", "phone": PHONE, "language": language},
            format="json",
        )
    assert answer.status_code == 201
    request = RightsRequest.objects.get(pk=answer.json()["id"])
    receipt, code = texts(sms_dir)
    assert_short_text_with_status_link(receipt, request, "receipt", language)
    assert code["to"] == PHONE_E164 and "/confirm/" in code["text"]
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("act", "template", "type", "status"), STORIES)
def test_phone_only_subject_gets_each_notice_by_sms(
    act, template, type, status, language, make_request, staff_user, sms_dir,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    request = file_request(make_request, language=language, status=status, type=type,
                           email="", phone=PHONE)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        act(request, staff_user)
    request.refresh_from_db()
    [message] = texts(sms_dir)
    assert_short_text_with_status_link(message, request, template, language)
    assert len(message["text"]) < 500  # short: the details are on the page the link opens
    queued = OutboundEmail.objects.get(request_id=request.pk)
    assert (queued.channel, queued.template, queued.status) == ("sms", template, "sent")
    assert AuditEvent.objects.filter(request_id=request.pk, action="sms.sent").count() == 1
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("act", "template", "type", "status"), STORIES)
def test_email_subject_gets_emails_only(
    act, template, type, status, language, make_request, staff_user, sms_dir,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    request = file_request(make_request, language=language, status=status, type=type,
                           email="li.lei@example.com", phone=PHONE)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        act(request, staff_user)
    [email] = mail.outbox
    assert email.to == ["li.lei@example.com"] and request.reference in email.subject
    queued = OutboundEmail.objects.get(request_id=request.pk)
    assert (queued.channel, queued.template, queued.language) == ("email", template, language)
    assert texts(sms_dir) == []


@pytest.mark.django_db(transaction=True)
def test_a_text_is_sent_once_and_retried_when_the_gateway_fails(
    make_request, staff_user, settings, tmp_path
):
    (tmp_path / "blocked").write_text("")  # a file where the SMS folder should be
    settings.DSAR_SMS_DIR = str(tmp_path / "blocked" / "sms")
    request = file_request(make_request, language="en", status=Status.IN_REVIEW,
                           email="", phone=PHONE)  # fmt: skip
    question(request, staff_user)
    queued = OutboundEmail.objects.get(request_id=request.pk, channel=MessageChannel.SMS)
    assert (queued.status, queued.attempts) == ("pending", 1)
    assert queued.last_error == "NotADirectoryError"  # the type only: no number in it
    settings.DSAR_SMS_DIR = str(tmp_path / "sms")
    with time_machine.travel(queued.next_attempt_at, tick=False):
        assert redrive_outbox() == 1
        assert redrive_outbox() == 0  # sent: a second redrive sends nothing
    assert deliver(queued.pk) == "skipped"
    [message] = texts(tmp_path / "sms")
    assert message["to"] == PHONE_E164
