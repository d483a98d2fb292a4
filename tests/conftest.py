"""Fixtures for every test. The shared machinery lives in ``tests/support/``: a real Celery
worker, gunicorn servers, the HTTP downstream peer, the second ("shop") database and the
downstream protocol's signature; its fixtures are made visible here."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.signals import request_finished
from rest_framework.test import APIClient

from tests.factories import RightsRequestFactory
from tests.support import database
from tests.support.downstream import downstream  # noqa: F401 (fixture)
from tests.support.servers import server_process  # noqa: F401 (fixture)
from tests.support.shop import shop_database, shop_dsn  # noqa: F401 (fixtures)
from tests.support.subject import receipts_sent
from tests.support.workers import celery_worker  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def messages_worker_after_answers(request):
    """In production the messages worker sends an intake's receipt and code once its answer
    is out. A test in a transaction that never commits (``django_db`` without
    ``transaction=True``) never publishes it, so the test does the worker's job when each of
    its answers is finished. Tests whose transactions commit publish it as production does
    (eager in this process, or to a real worker: ``tests/verification/test_receipts.py``)."""
    marker = request.node.get_closest_marker("django_db")
    rolled_back = ("db" in request.fixturenames or marker is not None) and not (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker is not None and marker.kwargs.get("transaction"))
    )
    if not rolled_back:
        yield
        return
    uid = "tests-messages-worker"
    request_finished.connect(lambda **kwargs: receipts_sent(), weak=False, dispatch_uid=uid)
    yield
    request_finished.disconnect(dispatch_uid=uid)


@pytest.fixture
def make_request(db):
    """Create a request in a given status through the real services: make_request(status=...)."""
    return RightsRequestFactory.create


@pytest.fixture
def fresh_limits():
    """Rate-limit counters live in Redis; the test starts with none and leaves none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_user(db):
    """staff_user("agent") → an active user holding that role (Django group)."""

    def make(role: str, username: str | None = None) -> User:
        user = User.objects.create_user(username=username or f"{role}-user", password="x")
        if role != "none":
            user.groups.add(
                Group.objects.get_or_create(name=role)[0]
            )  # flushed by transactional tests
        return user

    return make


@pytest.fixture
def api_as(staff_user):
    """api_as("legal") → an API client logged in as a user with that role."""

    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(staff_user(role))
        return client

    return make


def pytest_configure(config):
    database.install()  # a cheaper reset after transactional tests (see its docstring)
