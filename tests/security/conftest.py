"""The attacker's toolkit for the security suite: the victim's public facts, an API client
that can pretend to come from any address, and readers for every mailbox and SMS inbox.

The victim, Li Lei, is also a customer in the shop database of ``tests.support.shop``
(email li.lei@example.com, account acct-1), so a "known subject" is known for real.
"""

import json
import re
from pathlib import Path

import pytest
from django.core import mail
from rest_framework.test import APIClient

from dsar.audit.services import Actor
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.support.signing import SECRET

# Everything an impostor can learn about the victim from a business card or a data leak.
VICTIM = {
    "email": "li.lei@example.com",
    "full_name": "Li Lei",
    "phone": "13912345678",
    "account_id": "acct-1",
}
VICTIM_PHONE_E164 = "+8613912345678"
ATTACKER_EMAIL = "me@attacker.example"
ROGUE_SECRET = "billing-own-secret"  # a real secret, of another downstream system


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_limits):
    """Rate-limit counters live in Redis; each story starts with none and leaves none."""


@pytest.fixture
def sms_dir(settings, tmp_path) -> Path:
    """Where the file SMS backend drops text messages during this test."""
    settings.DSAR_SMS_DIR = str(tmp_path / "sms")
    return tmp_path / "sms"


@pytest.fixture
def api() -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def file_request(api: APIClient, *, ip: str = "203.0.113.9", **fields):
    """POST /api/v1/requests/ from ``ip`` with whatever fields the caller chooses to send."""
    return api.post("/api/v1/requests/", fields, format="json", REMOTE_ADDR=ip)


def resend(api: APIClient, request_id, *, ip: str = "203.0.113.9", **fields):
    return api.post(f"/api/v1/requests/{request_id}/resend/", fields, format="json", REMOTE_ADDR=ip)


def verify(api: APIClient, request_id, code: str, *, ip: str = "203.0.113.9"):
    return api.post(
        f"/api/v1/requests/{request_id}/verify/", {"code": code}, format="json", REMOTE_ADDR=ip
    )


def mailbox(address: str) -> list:
    """Messages actually delivered (locmem backend) to ``address``."""
    return [m for m in mail.outbox if address in m.to]


def codes_in(messages) -> list[str]:
    """The six-digit codes found in delivered emails or SMS texts."""
    texts = [getattr(m, "body", None) or m.get("text", "") for m in messages]
    return [c for text in texts for c in re.findall(r"\b\d{6}\b", text)]


def sms_inbox(directory: Path, number: str | None = None) -> list[dict]:
    """Text messages the file backend delivered, optionally only those to ``number``."""
    if not directory.exists():
        return []
    messages = [json.loads(p.read_text()) for p in sorted(directory.iterdir())]
    return [m for m in messages if number is None or m["to"] == number]


@pytest.fixture
def crm(downstream):
    """The CRM accepts deletions (202) and is expected to call back when it is done."""
    downstream.answers = [(202, {})]
    for name, secret in (("crm", SECRET), ("billing", ROGUE_SECRET)):
        DownstreamSystem.objects.create(
            name=name, kind="http", actions=["delete"] if name == "crm" else ["export"],
            config=json.dumps({"url": downstream.url, "secret": secret}),
        )  # fmt: skip
    return DownstreamSystem.objects.get(name="crm")


def waiting_task(email="li.lei@example.com") -> FanoutTask:
    request = create_request(type="deletion", email=email)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    task = FanoutTask.objects.get(request=request)
    assert task.status == TaskStatus.WAITING
    return task
