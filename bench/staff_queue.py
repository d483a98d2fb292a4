"""Queue benchmark (issue 8): the staff queue page and API list over 1,000,000 requests.

Bulk-loads requests into a separate PostgreSQL database (``dsar_bench_queue``), then times,
in one run and one process: the staff API list, the staff queue page, and a bare Django view
that lists the same table ordered the same way (the floor the framework allows). Prints p50,
p95 and the query count of each and the ratios against the bare list.

    make bench            # every benchmark
    BENCH_QUEUE_ROWS=100000 .venv/bin/python bench/staff_queue.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROWS = int(os.environ.get("BENCH_QUEUE_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_QUEUE_RUNS", "30"))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/dsar_bench_queue"
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import include, path  # noqa: E402

from dsar.workflow.models import RightsRequest  # noqa: E402


def bare_list(request):
    """The same table, same order, same page size, no framework beyond a JSON response."""
    rows = list(
        RightsRequest.objects.order_by(F("due_at").asc(nulls_last=True), "received_at").values(
            "id", "reference", "type", "status", "due_at"
        )[:50]
    )
    return JsonResponse({"results": rows})


urlpatterns = [path("bare/", bare_list), path("", include("config.urls"))]


def ensure_database():
    import psycopg

    base = os.environ["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(base[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [base[1]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{base[1]}"')


def load(rows: int):
    call_command("migrate", verbosity=0)
    have = RightsRequest.objects.count()
    if have >= rows:
        return
    print(f"loading {rows - have:,} requests …", flush=True)
    statuses = ["in_review", "in_review", "processing", "awaiting_subject", "completed",
                "pending_verification"]  # fmt: skip
    types = ["access", "correction", "deletion", "cancellation"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO workflow_rightsrequest (id, reference, type, status, outcome, email,
                phone, full_name, account_id, email_hash, phone_hash, description, language,
                received_at, verified_at, due_at, closed_at, paused_at, extended_at,
                extension_reason, sla_next_check_at, updated_at)
            SELECT gen_random_uuid(), 'DSAR-2000-' || lpad(g::text, 7, '0'),
                (%s::text[])[1 + g %% 4], (%s::text[])[1 + g %% 6], '', '', '', '', '',
                md5('e' || g), '', '', 'zh-hans',
                now() - interval '20 days', now() - interval '19 days',
                now() + ((g %% 40) - 10) * interval '1 day', NULL, NULL, NULL, '', NULL, now()
            FROM generate_series(%s, %s) AS g
            """,
            [types, statuses, have + 1, rows],
        )
        cursor.execute("ANALYZE workflow_rightsrequest")


def measure(client, url):
    client.get(url)  # warm up
    times, queries = [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(ctx.captured_queries)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], queries


def main():
    ensure_database()
    load(ROWS)
    settings.ROOT_URLCONF = __name__
    setup_test_environment()
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username="bench-supervisor")
    user.groups.add(Group.objects.get(name="supervisor"))
    client = Client()
    client.force_login(user)
    total = RightsRequest.objects.count()
    cases = [
        ("bare list (same table, same order)", "/bare/"),
        ("staff API list", "/api/v1/staff/requests/"),
        ("staff API list, status=in_review", "/api/v1/staff/requests/?status=in_review"),
        ("staff queue page", "/staff/"),
        ("staff queue page, unassigned", "/staff/?assignee=unassigned"),
    ]
    print(f"{total:,} requests, {RUNS} runs each (in-process Django test client)")
    print(f"{'case':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p50 ratio':>10}")
    base = None
    for label, url in cases:
        p50, p95, queries = measure(client, url)
        base = base or p50
        print(f"{label:40} {p50:8.1f} {p95:8.1f} {queries:8d} {p50 / base:10.1f}")


if __name__ == "__main__":
    main()
