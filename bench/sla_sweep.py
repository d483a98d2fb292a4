"""SLA sweep benchmark (issue 4): one sweep over 10,000 and over 1,000,000 open requests.

In both runs the same number of requests (BENCH_SLA_DUE, default 100) cross their due-soon
threshold; the rest have thresholds in the future. The sweep selects by the indexed
``sla_next_check_at``, so its time should follow the due requests, not the open ones:
the ratio printed at the end is the promise (target ≤ 2).

    make bench
    BENCH_SLA_LARGE=200000 .venv/bin/python bench/sla_sweep.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
SMALL = int(os.environ.get("BENCH_SLA_SMALL", "10000"))
LARGE = int(os.environ.get("BENCH_SLA_LARGE", "1000000"))
DUE = int(os.environ.get("BENCH_SLA_DUE", "100"))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_SLA_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/dsar_bench_sla"
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from dsar.sla import services  # noqa: E402
from dsar.workflow.models import RightsRequest  # noqa: E402


def fresh_database():
    import psycopg

    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User

    boss = User.objects.create_user("bench-boss", "boss@bench.example")
    boss.groups.add(Group.objects.get(name="supervisor"))


def add_open_requests(upto: int):
    """Bulk-insert open, verified requests whose thresholds are all in the future."""
    have = RightsRequest.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO workflow_rightsrequest (id, reference, type, status, outcome, email,
                phone, full_name, account_id, email_hash, phone_hash, description, language,
                received_at, verified_at, due_at, closed_at, paused_at, extended_at,
                extension_reason, sla_next_check_at, updated_at)
            SELECT gen_random_uuid(), 'DSAR-2001-' || lpad(g::text, 7, '0'), 'deletion',
                'in_review', '', '', '', '', '', md5('s' || g), '', '', 'zh-hans',
                now(), now(), now() + interval '14 days', NULL, NULL, NULL, '',
                now() + interval '11 days', now()
            FROM generate_series(%s, %s) AS g
            """,
            [have + 1, upto],
        )
        cursor.execute("ANALYZE workflow_rightsrequest")


def arm(n: int):
    """Make ``n`` requests (not yet warned) cross their due-soon threshold now."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE workflow_rightsrequest SET due_at = now() + interval '2 days',
                sla_next_check_at = now() - interval '1 minute'
            WHERE id IN (SELECT id FROM workflow_rightsrequest
                         WHERE due_at > now() + interval '7 days'
                         ORDER BY reference DESC LIMIT %s)
            """,
            [n],
        )


def timed_sweep() -> tuple[float, dict]:
    start = time.perf_counter()
    sent = services.sweep()
    return time.perf_counter() - start, sent


def warm_up():
    """One untimed sweep first, so neither timing pays for imports and template loading."""
    arm(5)
    assert timed_sweep()[1]["warning"] == 5


def main():
    fresh_database()
    results = []
    for total in (SMALL, LARGE):
        add_open_requests(total)
        if not results:
            warm_up()
        arm(DUE)
        seconds, sent = timed_sweep()
        assert sent["warning"] == DUE, sent
        idle_seconds, idle = timed_sweep()  # nothing due: the cost of looking
        assert idle == {"warning": 0, "breach": 0}, idle
        results.append((total, seconds, idle_seconds))
    print(f"{'open requests':>14} {'due':>5} {'sweep s':>9} {'idle sweep ms':>14}")
    for total, seconds, idle in results:
        print(f"{total:14,} {DUE:5} {seconds:9.3f} {idle * 1000:14.2f}")
    ratio = results[1][1] / results[0][1]
    print(f"ratio {LARGE:,} / {SMALL:,} open: {ratio:.2f} (target ≤ 2)")


if __name__ == "__main__":
    main()
