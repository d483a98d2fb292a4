"""The optional password-protected ZIP: AES, its password texted to the verified phone, never
in the email with the link; off by default, and never for a phone that was not proven."""

import io
import json
import re
import zipfile

import pytest
import pyzipper
from django.core import mail
from django.utils import timezone

from dsar.audit.services import Actor
from dsar.exports.models import Package
from dsar.fanout.models import DownstreamSystem
from dsar.notifications.models import MessageChannel, OutboundEmail
from dsar.verification.models import Verification
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.exports.test_packages import content, download, link_token
from tests.factories import TEST_STAFF

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+8613912345678"


@pytest.fixture(autouse=True)
def shop(shop_dsn, settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    settings.DSAR_SMS_DIR = str(tmp_path / "sms")
    with __import__("psycopg").connect(shop_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN phone text")
        conn.execute(f"UPDATE customers SET phone = '{PHONE}' WHERE account = 'acct-1'")
    statement = "SELECT name, account FROM customers WHERE email = %(email)s OR phone = %(phone)s"
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["export"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"export": statement}}),
    )  # fmt: skip
    return tmp_path / "sms"


def completed(*, proven: str):
    """An access request with an email and a phone, verified through ``proven``."""
    request = create_request(type="access", email="li.lei@example.com", phone=PHONE)
    Verification.objects.create(
        request=request, method="code", channel=proven, strength="contact",
        identity_hash=request.phone_hash if proven == "phone" else request.email_hash,
        created_at=timezone.now(),
    )  # fmt: skip
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    return request


def texts(request) -> list[str]:
    sent = OutboundEmail.objects.filter(request_id=request.pk, channel=MessageChannel.SMS)
    return [m.body for m in sent.filter(template="export_password")]


def test_off_by_default_the_zip_is_plain(client, shop):
    request = completed(proven="phone")
    assert texts(request) == []
    archive = zipfile.ZipFile(io.BytesIO(content(download(client, link_token(request)))))
    assert b"acct-1" in archive.read("shop/rows.jsonl")


def test_the_password_goes_by_text_to_the_verified_phone(client, settings):
    settings.DSAR_EXPORT_ZIP_PASSWORD = True
    request = completed(proven="phone")
    [text] = texts(request)
    password = re.search(r"[A-Za-z2-9]{12}", text).group()
    assert all(password not in m.body for m in mail.outbox)  # not with the link
    data = content(download(client, link_token(request)))
    with pytest.raises((RuntimeError, NotImplementedError)):  # AES: no plain reader opens it
        zipfile.ZipFile(io.BytesIO(data)).read("shop/rows.jsonl")
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(password.encode())
        assert b"acct-1" in archive.read("shop/rows.jsonl")
        assert archive.testzip() is None
    assert Package.objects.get().size == len(data)


def test_no_password_for_a_phone_that_was_not_proven(client, settings):
    settings.DSAR_EXPORT_ZIP_PASSWORD = True
    request = completed(proven="email")  # the phone was typed, never proven
    assert texts(request) == []
    archive = zipfile.ZipFile(io.BytesIO(content(download(client, link_token(request)))))
    assert b"acct-1" in archive.read("shop/rows.jsonl")
