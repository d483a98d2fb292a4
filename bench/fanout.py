"""Fan-out benchmark (issue 6): N deletion requests × 10 downstream systems, end to end with
real Celery workers, beside the same number of no-op Celery tasks through the same broker and
workers, in the same run. Prints both times and the ratio (target ≤ 2), and the CPU each used
per task by process group (workers, PostgreSQL, Redis, this process with the downstream peer).

Both runs time the workers draining a queued backlog: the no-op messages, and the stages
that approving the requests published (one message per request's stage, the engine's unit of
work). Approving is the staff action, timed on its own; a second ratio includes it.

The downstream systems are 10 ``http`` systems answering 200 from a threaded server on
127.0.0.1, so the figure is the engine's own cost: claim, call, record, audit, complete.

The whole measurement runs ``BENCH_FANOUT_RUNS`` times (default 3), each on a fresh database
with fresh workers, and the spread of the ratio (min, median, max) is printed; the median is
compared with the target.

    make bench
    BENCH_FANOUT_N=200 .venv/bin/python bench/fanout.py
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_FANOUT_N", "1000"))
RUNS = int(os.environ.get("BENCH_FANOUT_RUNS", "3"))
TARGET = 2.0
SYSTEMS = 10
WORKERS = os.environ.get("BENCH_FANOUT_CONCURRENCY", "4")
DB = os.environ.get(
    "BENCH_FANOUT_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/dsar_bench_fanout"
)
BROKER = os.environ.get("BENCH_FANOUT_REDIS_URL", "redis://127.0.0.1:6379/8")
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.test_settings", DATABASE_URL=DB, REDIS_URL=BROKER,
    DSAR_TEST_EAGER="0", LOG_LEVEL="WARNING",
)  # fmt: skip

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402

from config.celery import app  # noqa: E402
from dsar.audit.models import ActorKind  # noqa: E402
from dsar.audit.services import Actor  # noqa: E402
from dsar.fanout.models import DownstreamSystem  # noqa: E402
from dsar.workflow.models import RightsRequest, Status  # noqa: E402
from dsar.workflow.services import create_request  # noqa: E402
from dsar.workflow.transitions import transition  # noqa: E402
from tests.factories import ACTORS  # noqa: E402


class Peer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real service would
    disable_nagle_algorithm = True  # headers and body go out without a delayed-ACK stall

    def do_POST(self):  # noqa: N802
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"idempotency_key": message["idempotency_key"]}).encode()
        self.send_response(200)  # done, echoing the key as the protocol asks
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def fresh_database():
    import psycopg

    base, name = DB.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    redis.Redis.from_url(BROKER).flushdb()


def start_workers():
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", f"--concurrency={WORKERS}",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )  # fmt: skip


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far (user + system) by each group of processes on this machine:
    the Celery workers, PostgreSQL (its exited backends counted through the postmaster), Redis,
    and this process (the downstream peer's threads and the polling). Linux ``/proc`` only."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = dict.fromkeys(("workers", "postgres", "redis", "bench"), 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(entry) == os.getpid():
            groups["bench"] += used
        elif "celery -A config worker" in cmdline:
            groups["workers"] += used
        elif cmdline.startswith("postgres") or "/postgres " in cmdline:
            # The postmaster's reaped children (backends that exited) count too.
            groups["postgres"] += used + (int(fields[13]) + int(fields[14])) / tick
        elif "redis-server" in cmdline:
            groups["redis"] += used
    return groups


def cpu_since(before: dict[str, float]) -> dict[str, float]:
    after = cpu_seconds()
    return {group: after[group] - before[group] for group in before}


def wait_for(condition, what):
    deadline = time.monotonic() + 1800
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling real workers, not waiting for a clock


class held_queue:
    """Workers stop taking messages while the work is queued, and start again on exit: both
    timings then measure draining the same kind of backlog with warm workers."""

    def __enter__(self):
        app.control.cancel_consumer("celery", reply=True, limit=1, timeout=10)

    def __exit__(self, *exc):
        app.control.add_consumer("celery", reply=True, limit=1, timeout=10)


def noop_baseline(count: int) -> tuple[float, dict[str, float]]:
    queue = redis.Redis.from_url(BROKER)
    with held_queue():
        for _ in range(count):
            app.send_task("celery.accumulate", args=(1,))
        start, cpu = time.perf_counter(), cpu_seconds()
    wait_for(lambda: queue.llen("celery") == 0, "no-op tasks")
    return time.perf_counter() - start, cpu_since(cpu)


def fanout_run(count: int) -> tuple[float, float, dict[str, float]]:
    """Approve ``count`` deletion requests (the staff action, timed on its own), then time the
    fan-out: from the workers taking the queued stages to the last request completed."""
    requests = []
    app.conf.CELERY_TASK_ALWAYS_EAGER = True  # set-up only: creation needs no worker
    for i in range(count):
        request = create_request(type="deletion", email=f"bench{i}@example.com")
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        requests.append(request)
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    with held_queue():
        began = time.perf_counter()
        for request in requests:
            transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
        approving = time.perf_counter() - began
        start, cpu = time.perf_counter(), cpu_seconds()
    wait_for(
        lambda: RightsRequest.objects.filter(status=Status.COMPLETED).count() == count,
        "every request to complete",
    )
    return time.perf_counter() - start, approving, cpu_since(cpu)


def one_run(url: str) -> tuple[float, float, float, dict, dict]:
    """One measurement on a fresh database: no-op, fan-out and approval times, and the CPU
    the no-op tasks and the fan-out used by process group."""
    fresh_database()
    for i in range(SYSTEMS):
        DownstreamSystem.objects.create(
            name=f"system-{i}", kind="http", actions=["delete"],
            config=json.dumps({"url": url, "secret": "bench"}),
        )  # fmt: skip
    workers = start_workers()
    try:
        app.control.ping(timeout=5)
        noop, noop_cpu = noop_baseline(N * SYSTEMS)
        fanout, approving, fanout_cpu = fanout_run(N)
    finally:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait()
    from django.db import connections

    connections.close_all()  # the next run drops this database
    return noop, fanout, approving, noop_cpu, fanout_cpu


def per_task(cpu: dict[str, float], tasks: int) -> str:
    return ", ".join(f"{group} {seconds / tasks * 1000:.2f}" for group, seconds in cpu.items())


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    tasks = N * SYSTEMS
    print(f"{N} deletion requests × {SYSTEMS} systems, Celery worker --concurrency={WORKERS}")
    ratios = []
    try:
        for run in range(1, RUNS + 1):
            noop, fanout, approving, noop_cpu, fanout_cpu = one_run(url)
            ratios.append(fanout / noop)
            print(f"run {run}: no-op Celery tasks ({tasks}) {noop:7.2f} s "
                  f"({tasks / noop:5.0f}/s); fan-out {fanout:7.2f} s ({tasks / fanout:5.0f}/s); "
                  f"ratio {fanout / noop:.2f}; with the approvals "
                  f"({approving / N * 1000:.1f} ms each) {(approving + fanout) / noop:.2f}",
                  flush=True)  # fmt: skip
            print(f"       CPU ms per task: no-op {per_task(noop_cpu, tasks)}; "
                  f"fan-out {per_task(fanout_cpu, tasks)}", flush=True)  # fmt: skip
    finally:
        server.shutdown()
    median = statistics.median(ratios)
    print(
        f"ratio, fan-out over {RUNS} runs: min {min(ratios):.2f}, median {median:.2f}, "
        f"max {max(ratios):.2f} (target: median ≤ {TARGET:g}: "
        f"{'met' if median <= TARGET else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
