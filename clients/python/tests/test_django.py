"""django_view() answers like the WSGI app, inside a Django project."""

import json
import os

import pytest
from conftest import SECRET, Rows, message, signed

django = pytest.importorskip("django")
from django.conf import settings  # noqa: E402

if not os.environ.get("DJANGO_SETTINGS_MODULE") and not settings.configured:
    settings.configure(ALLOWED_HOSTS=["testserver"])  # this suite on its own, without a project
    django.setup()

import dsar_downstream as kit  # noqa: E402
from django.test import RequestFactory  # noqa: E402


@pytest.fixture
def view():
    return kit.django_view(Rows(), SECRET)


def post(view, data: dict, *, secret=SECRET):
    raw = json.dumps(data).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v
               for k, v in signed(raw, secret=secret).items() if k != "Content-Type"}  # fmt: skip
    request = RequestFactory().post("/dsar/", raw, content_type="application/json", **headers)
    response = view(request)
    return response.status_code, json.loads(response.content)


def test_a_signed_deletion_is_done_and_echoes_the_key(view):
    data = message()
    assert post(view, data) == (200, {"deleted": 5, "idempotency_key": data["idempotency_key"]})
    assert post(view, data)[1]["deleted"] == 5  # the repeat: the same answer
    assert [call[0] for call in view.endpoint.handler.calls] == ["delete"]


def test_a_bad_signature_is_401(view):
    assert post(view, message(), secret="guessed-secret-12345")[0] == 401
    assert view.endpoint.handler.calls == []


def test_only_post_is_answered_and_csrf_is_not_asked_for(view):
    assert view(RequestFactory().get("/dsar/")).status_code == 405
    assert getattr(view, "csrf_exempt", False)
