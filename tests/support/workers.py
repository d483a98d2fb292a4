"""Real Celery workers, consuming from real Redis, for the tests of asynchronous behaviour."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.servers import live_database_url


def until(condition, seconds: float, what: str):
    """Poll real processes for a condition (not a clock wait: we wait for work to happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def celery_worker():
    """celery_worker(REDIS_URL=...) → a running `celery worker` process (prefork, two
    children) on the test database, consuming the default queue and the outbox's
    (``queues="messages"`` for one of them), in a process group of its own so a test can kill it
    whole (``os.killpg``); any still running at the end of the test are killed."""
    started: list[subprocess.Popen] = []

    def start(queues: str = "celery,messages", **env_overrides: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DSAR_TEST_EAGER": "0",  # consume from Redis instead of running tasks in-process
            "DATABASE_URL": live_database_url(),
            **env_overrides,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
             "--concurrency=2", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
             f"--queues={queues}"],  # by default both: the default queue and the outbox's
            env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
