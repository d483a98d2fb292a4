"""`make run`'s embedded default (SQLite, tasks in-process) runs the fan-out too: the demo's
seeded requests reach their downstream systems there as on PostgreSQL, although the engine's
one-statement outcome (a data-modifying ``WITH``) is PostgreSQL's alone."""

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def test_the_demo_seed_fans_out_on_the_embedded_database(tmp_path):
    database = tmp_path / "demo.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": "", "CELERY_BROKER_URL": "",
        "DSAR_PUBLIC_BASE_URL": "http://127.0.0.1:9", "DSAR_DOWNSTREAM_ALLOWED_HOSTS": "127.0.0.1",
        "DSAR_DOWNSTREAM_ALLOWED_PATHS": str(tmp_path), "DSAR_VAR_DIR": str(tmp_path),
    }  # fmt: skip
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"],
                    ["seed_demo", "--downstream-port", "9"]):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
            text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT t.action, t.status, s.kind FROM fanout_fanouttask t "
            "JOIN fanout_downstreamsystem s ON s.id = t.system_id"
        ).fetchall()
        events = conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
    tasks = Counter(rows)
    # The demo shop (sql) did its work; the backups and the partner wait as they should; the
    # demo CRM is not listening here, so its tasks wait for a retry. Nothing is left claimed.
    assert tasks[("delete", "done", "sql")] == 1
    assert tasks[("export", "done", "sql")] == 1
    assert tasks[("delete", "waiting", "backup")] == 1
    assert not [row for row in rows if row[1] == "running"]
    assert events > 0
