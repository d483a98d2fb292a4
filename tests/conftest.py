import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests as http
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from tests.factories import RightsRequestFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make_request(db):
    """Create a request in a given status through the real services: make_request(status=...)."""
    return RightsRequestFactory.create


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server_process(tmp_path):
    """Start gunicorn on 127.0.0.1 with extra environment; yields its base URL.

    Uses the test settings (real PostgreSQL and Redis) unless the overrides say otherwise,
    and the test database that pytest-django created when a test asks for `db` too.

    The server's log goes to a file, never to a pipe: nobody reads a pipe while the test runs,
    so once its 64 KiB buffer is full (a few hundred logged 4xx answers) every gunicorn process
    blocks writing its log and the server stops answering without dying.
    """
    started = []

    def start(env_overrides: dict | None = None, *, workers: int = 1) -> str:
        port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
        env.update(env_overrides or {})
        log_path = tmp_path / f"gunicorn-{port}.log"
        with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--timeout",
                    "30",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                http.get(f"{base}/healthz", timeout=5)  # a loaded machine boots slowly
                return base
            except http.RequestException:  # not listening yet, or still importing
                time.sleep(0.1)
        raise RuntimeError("server did not answer /healthz within 60 s")

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


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
