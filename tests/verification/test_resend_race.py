"""A resend racing a transition of the same request: no deadlock (found by fuzzing the API)."""

import threading

import pytest
from django.db import connection

from dsar.audit.services import Actor
from dsar.verification import services
from dsar.workflow import hooks
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


def _wait_until_blocked_on_a_lock(pid_holder: list, seconds: float = 10) -> None:
    """Return once the backend in ``pid_holder`` waits for a lock (or ``seconds`` pass)."""
    event = threading.Event()
    for _ in range(int(seconds * 20)):
        if pid_holder:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", pid_holder
                )
                row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
        event.wait(0.05)


@pytest.mark.django_db(transaction=True)
def test_resend_during_a_withdrawal_waits_for_it_instead_of_deadlocking(make_request, monkeypatch):
    # The withdrawal holds the request row and is made to pause before it audits; the resend
    # then runs. Taking the audit chain head first and the request (its foreign-key check at
    # commit) second, it used to deadlock with the withdrawal, and the API answered 500.
    request = make_request(status=Status.PENDING_VERIFICATION)
    row_locked, go = threading.Event(), threading.Event()
    resend_pid: list[int] = []
    outcomes: dict[str, object] = {}

    def pause(locked):  # a guard: runs under the row lock, before the move is audited
        row_locked.set()
        go.wait(10)

    monkeypatch.setattr(hooks, "GUARDS", [*hooks.GUARDS, hooks.Hook(pause)])

    def withdraw():
        try:
            transition(request, to=Status.WITHDRAWN, actor=Actor.subject())
            outcomes["withdraw"] = "ok"
        except Exception as exc:
            outcomes["withdraw"] = exc
        finally:
            connection.close()

    def resend():
        row_locked.wait(10)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                resend_pid.append(cursor.fetchone()[0])
            services.issue_challenge(request=RightsRequest.objects.get(pk=request.pk))
            outcomes["resend"] = "ok"
        except Exception as exc:
            outcomes["resend"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=withdraw), threading.Thread(target=resend)]
    for thread in threads:
        thread.start()
    row_locked.wait(10)
    _wait_until_blocked_on_a_lock(resend_pid)
    go.set()
    for thread in threads:
        thread.join(30)

    assert outcomes["withdraw"] == "ok"
    assert isinstance(outcomes["resend"], TransitionError), outcomes["resend"]
    assert RightsRequest.objects.get(pk=request.pk).status == Status.WITHDRAWN
