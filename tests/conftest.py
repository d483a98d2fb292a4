"""Fixtures for every test. The shared machinery lives in ``tests/support/``: a real Celery
worker, gunicorn servers, the HTTP downstream peer, the second ("shop") database and the
downstream protocol's signature; its fixtures are made visible here."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import RightsRequestFactory
from tests.support import database
from tests.support.downstream import downstream  # noqa: F401 (fixture)
from tests.support.servers import server_process  # noqa: F401 (fixture)
from tests.support.shop import shop_database, shop_dsn  # noqa: F401 (fixtures)
from tests.support.workers import celery_worker  # noqa: F401 (fixture)


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
