"""Payloads that cost the server: huge bodies and deeply nested JSON, through gunicorn.

A body over the cap is refused from its Content-Length alone, before a byte of it is read
(the attacker announces 300 MB and sends none: a server that waits for it has already lost);
one just over the cap is refused with the API's error shape. A hundred thousand ``[`` is a
400 on every door that reads JSON, signed callbacks included. Identity evidence, which is
multipart and larger than any JSON body, still goes through.
"""

import io
from http.client import HTTPConnection, HTTPResponse
from urllib.parse import urlsplit

import pytest
import requests as http
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from dsar.fanout.models import TaskStatus
from dsar.verification.models import Evidence
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import RightsRequest, Status
from tests.factories import RightsRequestFactory
from tests.security.conftest import waiting_task
from tests.support.servers import live_database_url
from tests.support.signing import signed_headers

pytestmark = pytest.mark.django_db(transaction=True)
HUGE = 300 * 1024 * 1024
DEEP = b"[" * 100_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def base(server_process) -> str:
    return server_process({"DATABASE_URL": live_database_url()}).url


def announce(base: str, path: str, content_type: str, length: int) -> HTTPResponse:
    """Send only the headers of a POST whose body would be ``length`` bytes; read the answer."""
    where = urlsplit(base)
    conn = HTTPConnection(where.hostname, where.port, timeout=20)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(length))
    conn.putheader("Accept-Language", "en")
    conn.endheaders()
    try:
        return conn.getresponse()
    except TimeoutError:
        pytest.fail(f"{path} waited for a {length}-byte body instead of refusing it")


@pytest.mark.parametrize(
    "path,content_type",
    [
        ("/api/v1/requests/", "application/json"),
        ("/api/v1/requests/", "application/x-www-form-urlencoded"),
        ("/api/v1/requests/{id}/evidence/", "multipart/form-data; boundary=x"),
        ("/requests/{id}/evidence/", "multipart/form-data; boundary=x"),
    ],
)
def test_a_huge_body_is_refused_before_it_is_read(base, path, content_type):
    request = RightsRequestFactory.create(status=Status.PENDING_VERIFICATION)
    answer = announce(base, path.format(id=request.pk), content_type, HUGE)
    assert answer.status == 413
    assert b"too large" in answer.read()


def test_json_just_over_the_cap_gets_413_with_a_field_message(base):
    body = b'{"type": "access", "email": "a@example.com", "description": "'
    body += b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len(body) - 1) + b'"}'
    assert len(body) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    answer = http.post(
        f"{base}/api/v1/requests/",
        data=body,
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
        timeout=30,
    )
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "too large" in error["fields"]["body"][0]
    assert RightsRequest.objects.count() == 0


def post_json(url: str, raw: bytes, **headers):
    headers = {"Content-Type": "application/json", "Accept-Language": "en", **headers}
    return http.post(url, data=raw, headers=headers, timeout=30)


def test_deep_nesting_is_a_400_at_intake_and_verify(base):
    request = RightsRequestFactory.create(status=Status.PENDING_VERIFICATION)
    for path in ("/api/v1/requests/", f"/api/v1/requests/{request.pk}/verify/"):
        answer = post_json(f"{base}{path}", DEEP)
        assert answer.status_code == 400, path
        assert answer.json()["error"]["code"] == "parse_error"
    assert RightsRequest.objects.count() == 1


def test_deep_nesting_is_a_400_on_a_staff_note(base):
    agent = User.objects.create_user(username="agent-deep", password="x")
    agent.groups.add(Group.objects.get_or_create(name="agent")[0])
    token = Token.objects.create(user=agent).key
    request = RightsRequestFactory.create(status=Status.IN_REVIEW)
    url = f"{base}/api/v1/staff/requests/{request.pk}/note/"
    for raw in (DEEP, b'{"body": ' + b"[" * 200 + b"]" * 200 + b"}"):
        answer = post_json(url, raw, Authorization=f"Token {token}")
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "parse_error"


@pytest.mark.usefixtures("crm")
def test_deep_nesting_is_a_400_on_a_signed_callback(base):
    task = waiting_task()
    answer = post_json(f"{base}/api/v1/callbacks/{task.pk}/", DEEP, **signed_headers(DEEP))
    assert answer.status_code == 400
    task.refresh_from_db()
    assert task.status == TaskStatus.WAITING


def test_evidence_over_the_json_cap_is_still_accepted(base):
    """A 2 MB scan is twice the JSON cap and well under DSAR_EVIDENCE_MAX_BYTES."""
    request = RightsRequestFactory.create(status=Status.PENDING_VERIFICATION)
    scan = PNG + b"\x00" * (2 * 1024 * 1024)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(scan) < settings.DSAR_EVIDENCE_MAX_BYTES
    answer = http.post(
        f"{base}/api/v1/requests/{request.pk}/evidence/",
        data={"token": make_status_token(request)},
        files={"file": ("id.png", io.BytesIO(scan), "image/png")},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    assert Evidence.objects.get(request=request).size == len(scan)
