"""The stores claim each key once, remember the answer, and let a crashed attempt go."""

import threading
import time

import dsar_downstream as kit
import pytest
from dsar_downstream.idempotency import ANSWERED, DEFERRED, STARTED


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    return kit.MemoryStore() if request.param == "memory" else kit.SqliteStore(tmp_path / "k.db")


def test_the_first_claim_acts_and_a_repeat_gets_the_answer(store):
    now = time.time()
    assert store.claim("k-1", "fp", now=now, lease=60) is None
    assert store.claim("k-1", "fp", now=now, lease=60).state == STARTED
    store.answer("k-1", status=200, body={"deleted": 3})
    held = store.claim("k-1", "fp", now=now + 1000, lease=60)  # answered: never re-acted
    assert (held.state, held.status, held.body) == (ANSWERED, 200, {"deleted": 3})


def test_a_claim_nobody_answered_is_taken_over_after_the_lease(store):
    now = time.time()
    store.claim("k-1", "fp", now=now, lease=60)
    assert store.claim("k-1", "fp", now=now + 30, lease=60) is not None
    assert store.claim("k-1", "fp", now=now + 61, lease=60) is None
    assert store.claim("k-1", "fp", now=now + 62, lease=60).state == STARTED


def test_a_stale_claim_for_another_request_is_not_taken_over(store):
    now = time.time()
    store.claim("k-1", "fp", now=now, lease=60)
    assert store.claim("k-1", "other", now=now + 61, lease=60).fingerprint == "fp"


def test_deferred_work_is_remembered_with_how_it_ended(store):
    now = time.time()
    store.claim("k-1", "fp", now=now, lease=60)
    store.answer("k-1", status=202, body={"accepted": True}, deferred=True)
    assert store.claim("k-1", "fp", now=now, lease=60).state == DEFERRED
    store.settle("k-1", outcome="done", detail="3 rows")
    held = store.claim("k-1", "fp", now=now, lease=60)
    assert (held.state, held.status, held.outcome, held.detail) == (ANSWERED, 202, "done",
                                                                    "3 rows")  # fmt: skip


def test_a_released_key_may_be_claimed_again(store):
    store.claim("k-1", "fp", now=time.time(), lease=60)
    store.release("k-1")
    assert store.claim("k-1", "fp", now=time.time(), lease=60) is None


def test_of_racing_claims_exactly_one_wins(store):
    start, winners = threading.Barrier(8), []

    def claim():
        start.wait()
        if store.claim("k-race", "fp", now=time.time(), lease=60) is None:
            winners.append(threading.get_ident())

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_the_sqlite_store_remembers_across_restarts(tmp_path):
    kit.SqliteStore(tmp_path / "k.db").claim("k-1", "fp", now=time.time(), lease=60)
    kit.SqliteStore(tmp_path / "k.db").answer("k-1", status=200, body={"deleted": 1})
    held = kit.SqliteStore(tmp_path / "k.db").claim("k-1", "fp", now=time.time(), lease=60)
    assert (held.status, held.body) == (200, {"deleted": 1})
