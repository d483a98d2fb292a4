"""PostgreSQL restarted (fast shutdown, start again) while a real Celery worker is in the middle
of a fan-out (issue 21, "Prove it"): the work in flight and the messages consumed while the
database was down are re-driven by the beat's next run, one reconcile period after the
database is back, and the downstream system acts on each idempotency key once.

The cluster is the test's own (``PrivatePostgres``, a free port, a copy of the test
database), so the restart cuts nobody else's sessions. The beat's run is the reconciler in a
process of its own on that cluster, its clock set to one period after the restart; the
worker and the downstream server run on real time (the poll below waits for them)."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import psycopg
import pytest
import redis
from django.conf import settings
from django.utils import timezone

from config.celery import app
from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout.models import DownstreamSystem
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.outages import PrivatePostgres
from tests.support.servers import live_database_url
from tests.support.signing import SECRET
from tests.support.workers import until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]
BATCH = 12
RESTART_AT_CALL = 5
RECONCILE_PERIOD = dt.timedelta(minutes=1)  # the beat's schedule of the reconciler
# The beat's run, as a process of its own on the private cluster, its clock set to argv[1].
BEAT = """
import datetime, sys
import django
django.setup()
import time_machine
from dsar.fanout import reconciler
with time_machine.travel(datetime.datetime.fromisoformat(sys.argv[1]), tick=False):
    print(reconciler.reconcile())
"""


@pytest.fixture
def published(monkeypatch):
    """Publish to the real Redis broker instead of running tasks in this process."""
    app.conf.task_always_eager  # noqa: B018 (loads the Django-namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    return broker


@pytest.fixture
def cluster():
    private = PrivatePostgres()
    private.start()
    yield private
    private.remove()


def beat(database: str, at: dt.datetime) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings",
           "DSAR_TEST_EAGER": "0", "DATABASE_URL": database}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", BEAT, at.isoformat()], env=env, check=True,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return int(done.stdout.split()[-1])


def rows(database: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(database) as conn:
        return conn.execute(sql, params).fetchall()


def statuses(database: str) -> Counter:
    return Counter(dict(rows(database, "SELECT status, count(*) FROM fanout_fanouttask "
                                       "GROUP BY status")))  # fmt: skip


def quiet(broker: redis.Redis) -> bool:
    """No message waits in the queue or is held unacknowledged by the worker (with
    ``acks_late``, a message is acknowledged once its task has ended)."""
    return broker.llen("celery") == 0 and broker.hlen("unacked") == 0


def test_a_restarted_database_loses_nothing_and_nothing_waits_past_one_period(
    downstream, published, celery_worker, cluster
):
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["delete"], timeout_seconds=5,
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    for i in range(BATCH):  # each approval publishes its request's stage to the broker
        request = create_request(type="deletion", email=f"s{i}@example.com")
        transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
        transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    database = cluster.copy_database(live_database_url(), "dsar")
    assert statuses(database) == {"pending": BATCH}

    stopped = threading.Event()

    def stop_mid_call(body):
        # The fifth call is being answered: its task is claimed and running, the worker
        # waits for this answer; the database goes down (sessions cut) before it arrives.
        if len(downstream.received) == RESTART_AT_CALL and not stopped.is_set():
            cluster.stop()
            stopped.set()

    downstream.before_answer = stop_mid_call
    worker = celery_worker(DATABASE_URL=database)
    try:
        until(stopped.is_set, 40, "the worker to reach the fifth call")
        cluster.start()
        back_at = timezone.now()
        downstream.before_answer = None
        # The worker goes on with what the broker still holds; the tasks whose messages it
        # consumed while the database was down, and the one whose answer it could not
        # record, are left for the beat.
        until(lambda: quiet(published), 30, "the worker to finish what the broker held")
        left = statuses(database)
        assert left["done"] < BATCH, left  # the restart did cut work short
        running = {
            key for (key,) in rows(database, "SELECT idempotency_key::text FROM "
                                             "fanout_fanouttask WHERE status = 'running'")
        }  # fmt: skip

        # The beat's next run, one period after the database is back: every claim of the
        # worker's cut sessions has passed its lease, so all the work left goes out now.
        next_run = back_at + RECONCILE_PERIOD
        redriven = beat(database, next_run)
        assert redriven == BATCH - left["done"]
        stale = rows(
            database,
            "SELECT count(*) FROM fanout_fanouttask WHERE status = 'running' AND lease_until < %s",
            next_run,
        )
        assert stale == [(0,)]  # no claim of a cut session is left for a later run
        until(lambda: statuses(database) == {"done": BATCH}, 30, "every task to be done")
        until(
            lambda: rows(database, "SELECT count(*) FROM workflow_rightsrequest WHERE "
                                   "status = 'completed'") == [(BATCH,)],
            30, "every request to complete",
        )  # fmt: skip
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()

    keys = {k for (k,) in rows(database, "SELECT idempotency_key::text FROM fanout_fanouttask")}
    acted = Counter(downstream.acted_on)
    assert set(acted) == keys and set(acted.values()) == {1}
    # Sent again only with the same key, and only what was in flight when the sessions were
    # cut (the answer the worker could not record): the protocol's promise, one act per key.
    calls = Counter(body["idempotency_key"] for body in downstream.received)
    assert set(calls) == keys
    resent = {key for key, n in calls.items() if n > 1}
    assert resent and resent <= running  # at least the fifth call, whose answer was lost
    assert set(calls.values()) <= {1, 2}
