"""Intake benchmark (issues 9 and 21): POST /api/v1/requests/ against gunicorn with real
PostgreSQL and Redis, sequentially and with 8 concurrent clients, beside a bare Django endpoint
that inserts one row into the same database, in the same run. Prints requests/second, p50 and
p95 latency of both and the ratio, then the figures of issue 21 next to their goals: intake
≥ 0.3× the bare insert at 1 and at 8 clients, 8 clients ≥ 1.5× our own sequential rate, and
the database queries of one intake, one verification by code and one approval (≤ 15 each).

    make bench
    BENCH_INTAKE_N=200 .venv/bin/python bench/intake.py
    (also BENCH_INTAKE_REDIS_URL, BENCH_INTAKE_DATABASE_URL, BENCH_INTAKE_PORT)
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("BENCH_INTAKE_N", "400"))
CLIENTS = 8
WORKERS = int(os.environ.get("BENCH_INTAKE_WORKERS", "4"))
PORT = int(os.environ.get("BENCH_INTAKE_PORT", "8791"))
DB = os.environ.get(
    "BENCH_INTAKE_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/dsar_bench_intake"
)
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench._intake_settings",
    "DATABASE_URL": DB,
    "REDIS_URL": os.environ.get("BENCH_INTAKE_REDIS_URL", "redis://127.0.0.1:6379/9"),
    "PYTHONPATH": str(ROOT),
}


def prepare():
    import psycopg

    base, name = DB.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    py = str(ROOT / ".venv/bin/python")
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=ENV, check=True)
    with psycopg.connect(DB, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_row (id bigserial PRIMARY KEY, body bytea)")
    import redis

    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()


def start_server():
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],  # fmt: skip
        cwd=ROOT,
        env=ENV,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)  # the server is still starting (not a clock wait)
    server.kill()
    raise SystemExit("gunicorn did not start")


def body(i: int, tag: str) -> bytes:
    return json.dumps(
        {
            "type": "deletion",
            "email": f"bench{tag}{i}@example.com",
            "full_name": "张三",
            "description": "请删除我的账户数据",
        }  # fmt: skip
    ).encode()


def run(path: str, count: int, clients: int, tag: str):
    latencies, lock, errors = [], threading.Lock(), []
    per_client = count // clients

    def client(c):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        for i in range(per_client):
            payload = body(c * per_client + i, tag)
            start = time.perf_counter()
            conn.request("POST", path, payload, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed * 1000)
                if response.status != 201:
                    errors.append(response.status)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{path}: {len(errors)} non-201 answers, e.g. {errors[:3]}")
    latencies.sort()
    return (
        len(latencies) / wall,
        statistics.median(latencies),
        latencies[int(0.95 * len(latencies)) - 1],
    )


def main():
    prepare()
    server = start_server()
    try:
        run("/api/v1/requests/", 40, 1, "warm")
        run("/bare/", 40, 1, "warm")
        rows = []
        for clients in (1, CLIENTS):
            for label, path in (
                ("bare insert", "/bare/"),
                ("POST /api/v1/requests/", "/api/v1/requests/"),
            ):
                rows.append((clients, label, *run(path, N, clients, f"c{clients}")))
    finally:
        server.terminate()
        server.wait()
    print(
        f"gunicorn {WORKERS} sync workers, {N} requests per case, PostgreSQL + Redis on 127.0.0.1"
    )
    header = ("clients", "endpoint", "req/s", "p50 ms", "p95 ms", "req/s ratio")
    print("{:>7} {:26} {:>8} {:>8} {:>8} {:>12}".format(*header))
    for i, (clients, label, rps, p50, p95) in enumerate(rows):
        base = rows[i - i % 2][2]
        print(f"{clients:7} {label:26} {rps:8.1f} {p50:8.1f} {p95:8.1f} {base / rps:12.1f}")
    rate = {(clients, label): rps for clients, label, rps, *_ in rows}
    api, bare = "POST /api/v1/requests/", "bare insert"
    print("issue 21, item 4:")
    for clients in (1, CLIENTS):
        share = rate[clients, api] / rate[clients, bare]
        print(f"  {clients} client(s): intake {share:.2f}× the bare insert  (goal ≥ 0.3)")
    scaling = rate[CLIENTS, api] / rate[1, api]
    print(f"  {CLIENTS} clients: {scaling:.2f}× our own sequential rate  (goal ≥ 1.5)")
    print("issue 21, item 6: database queries per call (one process, committed transactions)")
    for call, (queries, round_trips, audit) in query_counts().items():
        print(f"  {call:8} {queries:3} queries ({audit} of them the audit append's), "
              f"{round_trips:3} with BEGIN/COMMIT/savepoints  (goal ≤ 15)")  # fmt: skip


def query_counts() -> dict[str, tuple[int, int, int]]:
    """The statements one intake, one verification by code and one approval send, each a
    real request through Django's handler and committed as in production (no test
    transaction around it); the tasks they publish are left on the broker."""
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import re

    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from dsar.legal.models import Finding, Severity
    from dsar.notifications.models import OutboundEmail
    from dsar.verification.receipts import send_receipt

    frames = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")

    def measure(call) -> tuple[tuple[int, int, int], object]:
        with CaptureQueriesContext(connection) as captured:
            response = call()
        assert response.status_code in (200, 201), response.content[:300]
        statements = [q["sql"] for q in captured.captured_queries]
        real = [sql for sql in statements if not sql.startswith(frames)]
        # The audit append: the insert of its events (dsar.audit.services), and a chain head
        # read or write if one ever comes back into the request path.
        audit = [sql for sql in real if '"audit_chainhead"' in sql or 'INTO "audit_' in sql]
        return (len(real), len(statements), len(audit)), response

    subject = APIClient(HTTP_HOST="127.0.0.1")
    staff = APIClient(HTTP_HOST="127.0.0.1")
    user = User.objects.create_user(username="bench-supervisor")
    user.groups.add(Group.objects.get(name="supervisor"))
    staff.force_authenticate(user)
    counts = {}
    for i in range(2):  # the first of each warms caches; the second is counted
        counts["intake"], filed = measure(
            lambda i=i: subject.post("/api/v1/requests/", json.loads(body(i, "q")), format="json")
        )
        pk = filed.json()["id"]
        send_receipt(pk)  # the messages worker's job after the answer, not counted
        text = OutboundEmail.objects.get(request_id=pk, template="code").body
        code = re.search(r"\d{6}", text.splitlines()[0]).group()
        verify_url, approve_url = (
            f"/api/v1/requests/{pk}/verify/",
            f"/api/v1/staff/requests/{pk}/approve/",
        )
        counts["verify"], _ = measure(
            lambda url=verify_url, code=code: subject.post(url, {"code": code}, format="json")
        )
        ack = {
            "acknowledged": [
                str(f)
                for f in Finding.objects.filter(
                    request_id=pk, severity=Severity.ADVISORY
                ).values_list("pk", flat=True)
            ]
        }
        counts["approve"], _ = measure(
            lambda url=approve_url, ack=ack: staff.post(url, ack, format="json")
        )
    return counts


if __name__ == "__main__":
    sys.exit(main())
