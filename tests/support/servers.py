"""Real gunicorn servers on 127.0.0.1 for the tests that need another process to answer."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests as http
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url() -> str:
    """The test database pytest-django made (this xdist worker's own), as a DATABASE_URL."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    log: Path  # what gunicorn and Django wrote to stderr
    process: subprocess.Popen


def _start(env_overrides: dict, workers: int, log_dir: Path) -> Server:
    """gunicorn with the test settings (real PostgreSQL and Redis) unless the overrides say
    otherwise; returns once it answers /healthz.

    The log goes to a file, never to a pipe: nobody reads a pipe while the tests run, so once
    its 64 KiB buffer is full (a few hundred logged 4xx answers) every gunicorn process
    blocks writing its log and the server stops answering without dying.
    """
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", **env_overrides}
    log_path = log_dir / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "30"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    server = Server(url=f"http://127.0.0.1:{port}", log=log_path, process=proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            http.get(f"{server.url}/healthz", timeout=5)  # a loaded machine boots slowly
            return server
        except http.RequestException:  # not listening yet, or still importing
            time.sleep(0.1)
    _stop(server)
    raise RuntimeError("server did not answer /healthz within 60 s")


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def server_process(tmp_path_factory):
    """server_process({"DATABASE_URL": ...}, workers=1) → a running gunicorn (a Server).

    The module's tests that ask for the same environment share one server (a boot of Django
    costs a second or two), so a test reading its log may find earlier tests' lines; the
    servers stop with the module. A server on the test database sees only committed writes:
    tests that use one are transactional.
    """
    log_dir = tmp_path_factory.mktemp("gunicorn")
    running: dict[tuple, Server] = {}

    def start(env_overrides: dict | None = None, *, workers: int = 1) -> Server:
        env_overrides = dict(env_overrides or {})
        key = (tuple(sorted(env_overrides.items())), workers)
        server = running.get(key)
        if server is None or server.process.poll() is not None:
            server = running[key] = _start(env_overrides, workers, log_dir)
        return server

    yield start
    for server in running.values():
        _stop(server)
