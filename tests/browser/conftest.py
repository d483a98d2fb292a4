"""Browser tests: Playwright driving Debian's chromium (installed by `.ci/ensure-browser`,
which `make test` runs), against a real gunicorn serving the test database."""

import os
from pathlib import Path

import pytest
from django.db import connections

from tests.support.servers import live_database_url

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM reads
    # (the email outbox) are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        message = "Debian's chromium is missing: run .ci/ensure-browser (make test does)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield instance
        instance.close()
        # ORM calls made while Playwright's loop runs get their own connection (Django keys
        # connections by async context); close it so the test database can be dropped.
        connections.close_all()


@pytest.fixture
def live_server_url(transactional_db, server_process):
    """gunicorn on 127.0.0.1 using the database pytest-django created for this test."""
    return server_process({"DATABASE_URL": live_database_url(), "SECURE_COOKIES": "0"}).url


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
