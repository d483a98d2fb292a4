"""The conformance check of an ``http`` downstream system: does it speak the protocol
(``docs/downstream-protocol.md``, v1) before it receives a real person's request?

It sends each action the system supports, signed, for a synthetic subject nobody has (an
address under ``example.invalid``, a random account id) and marked ``"test": true``; checks
every answer against the protocol's schemas and what a synthetic subject must give (nothing
held, no rows); sends two requests the service must refuse (a wrong signature, a stale
timestamp); and, for every ``202``, waits a few seconds for the signed callback at a callback
URL of this run (``receive_callback``). The report says what is wrong in plain words.

A newly registered ``http`` system in the admin starts disabled; a run that passes enables it
when asked (the admin action, ``check_downstream --enable``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.fanout import protocol
from dsar.fanout.connectors import ACCEPTED, DONE, SubjectKeys, connector_for, http
from dsar.fanout.models import DownstreamSystem

CALLBACK_WAIT_SECONDS = 10
RUN_SECONDS = 15 * 60  # how long the cache keeps a run's callbacks
STALE_SECONDS = 15 * 60  # the age of the probe's timestamp: far outside the allowed skew
# The order actions are sent in: the reads first, then the ones that act.
ORDER = ("check", "export", "delete", "correct", "anonymise", "close_account")
CHECKED_KINDS = ("http",)  # the kinds that speak the protocol and start disabled


@dataclass
class Report:
    system: str
    failures: list[str] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        """The report for a person: what failed first, then what passed."""
        return [f"FAIL {line}" for line in self.failures] + [f"ok   {line}" for line in self.passes]


def starts_enabled(*, kind: str, asked: bool) -> bool:
    """Whether a system registered in the admin starts enabled: one that speaks the protocol
    waits for a conformance run to pass."""
    return asked and kind not in CHECKED_KINDS


def synthetic_subject() -> SubjectKeys:
    """A subject no real person has: ``example.invalid`` cannot be anyone's domain."""
    token = secrets.token_hex(6)
    return SubjectKeys(email=f"conformance-{token}@example.invalid",
                       account_id=f"conformance-{token}")  # fmt: skip


def check(system: DownstreamSystem, *, wait: float = CALLBACK_WAIT_SECONDS) -> Report:
    """Run the conformance check against ``system``'s configuration (for a newly registered
    system, the one awaiting approval: only the synthetic subject is sent). No database
    writes; the run's callbacks are kept in the cache. Raises ``ValidationError`` for a
    system of another kind or one that could never run."""
    if system.kind not in CHECKED_KINDS:
        raise ValidationError(f"Only {', '.join(CHECKED_KINDS)} systems speak the protocol.")
    config = system.settings
    if errors := connector_for(system.kind).config_errors(config):
        raise ValidationError(errors)
    run = _Run(system=system, config=config)
    actions = [a for a in ORDER if system.supports(a)]
    if not actions:
        run.report.failures.append("the system supports no action")
        return run.report
    run.open([a for a in actions if a != "correct" or http.fields(config)])
    for action in actions:
        run.send(action)
    run.probe(actions[0])
    run.await_callbacks(wait)
    return run.report


class _Run:
    def __init__(self, *, system: DownstreamSystem, config: dict):
        self.system, self.config = system, config
        self.report = Report(system=system.name)
        self.subject = synthetic_subject()
        self.id = str(uuid.uuid4())
        self.keys: dict[str, str] = {}  # action → idempotency key
        self.awaiting: dict[str, str] = {}  # idempotency key → action, for the 202s
        self.callback_url = settings.DSAR_PUBLIC_BASE_URL + reverse(
            "fanout-conformance-callback", args=[self.id]
        )

    def open(self, actions: list[str]) -> None:
        self.keys = {action: str(uuid.uuid4()) for action in actions}
        # The probes' key too: a service that wrongly accepts one may call back for it.
        self.probe_key = str(uuid.uuid4())
        known = [*self.keys.values(), self.probe_key]
        cache.set(_run_key(self.id), {"system": self.system.pk, "keys": known}, RUN_SECONDS)

    def send(self, action: str) -> None:
        fail, ok = self.report.failures.append, self.report.passes.append
        if action not in self.keys:  # correct, with no field registered
            fail('correct: no "fields" registered, so no correction would ever reach it')
            return
        answers: list[http.Answer] = []
        outcome = http.run(
            config=self.config, action=action, keys=self.subject,
            idempotency_key=self.keys[action], timeout=self.system.timeout_seconds,
            callback_url=self.callback_url, test=True, observe=answers.append,
            changes=[{"field": f, "value": "conformance"} for f in sorted(http.fields(self.config))]
            if action == "correct" else None,
        )  # fmt: skip
        if outcome.state not in (DONE, ACCEPTED):  # the reason the task would fail
            detail = outcome.detail
            fail(detail if detail.startswith(f"{action} ") else f"{action}: {detail}")
            return
        problems = []
        for number, answer in enumerate(answers, start=1):
            if answer.status == 200:
                problems += _answer_problems(action, answer, number, len(answers))
        problems += _synthetic_problems(action, outcome.data) if outcome.state == DONE else []
        for problem in problems:
            fail(f"{action}: {problem}")
        if outcome.state == ACCEPTED and action in http.ANSWERED_AT_ONCE:
            fail(f"{action}: answered 202, but {action} must answer 200 with its data: a "
                 "callback carries none")  # fmt: skip
        elif outcome.state == ACCEPTED:
            self.awaiting[self.keys[action]] = action
        elif not problems:
            pages = f" in {len(answers)} pages" if len(answers) > 1 else ""
            ok(f"{action}: answered 200{pages} with our idempotency key, as the protocol says")

    def probe(self, action: str) -> None:
        """Requests a service must refuse: a wrong signature, and a replayed old one."""
        message = http.message_for(
            action=action, keys=self.subject, idempotency_key=self.probe_key,
            callback_url=self.callback_url, test=True,
        )  # fmt: skip
        timeout = self.system.timeout_seconds
        for what, answer in (
            ("a request signed with a wrong secret",
             http.send(self.config, message, timeout=timeout, secret=secrets.token_hex(16))),
            (f"a request signed {STALE_SECONDS // 60} minutes ago",
             http.send(self.config, message, timeout=timeout,
                       timestamp=int(time.time()) - STALE_SECONDS)),
        ):  # fmt: skip
            if isinstance(answer, http.Answer) and 400 <= answer.status < 500:
                self.report.passes.append(f"refuses {what} (HTTP {answer.status})")
            elif isinstance(answer, http.Answer) and answer.status < 400:
                self.report.failures.append(
                    f"accepts {what} (HTTP {answer.status}); refuse it with 401, or anyone "
                    "who can reach the service can send it requests"
                )
            elif isinstance(answer, http.Answer):  # a 5xx: we would send it again, forever
                self.report.failures.append(
                    f"answers {what} with HTTP {answer.status}; refuse it with 401"
                )
            else:
                self.report.failures.append(f"gave no answer to {what} ({answer.detail})")

    def await_callbacks(self, wait: float) -> None:
        """Wait (a network wait, bounded) for the callback of every action answered 202."""
        deadline = time.monotonic() + wait
        pending = dict(self.awaiting)
        while pending and time.monotonic() < deadline:
            for key in [k for k in pending if cache.get(_callback_key(self.id, k)) is not None]:
                self._judge_callback(pending.pop(key), cache.get(_callback_key(self.id, key)))
            if pending:
                time.sleep(0.2)
        for action in pending.values():
            self.report.failures.append(
                f"{action}: answered 202, but no callback came to the callback_url within "
                f"{wait:g} seconds"
            )
        if cache.get(_callback_key(self.id, "other")):
            self.report.failures.append("a callback named an idempotency key we never sent")

    def _judge_callback(self, action: str, got: dict) -> None:
        fail = self.report.failures.append
        if got["stale"]:
            fail(f"{action}: the callback's X-DSAR-Timestamp is missing or not current")
        elif not got["signed"]:
            fail(f"{action}: the callback's signature does not verify with the system's secret")
        for problem in got["problems"]:
            fail(f"{action}: the callback {problem}")
        if got["signed"] and not got["stale"] and not got["problems"]:
            if got["status"] == "done":
                self.report.passes.append(f"{action}: answered 202, then called back, signed")
            else:
                fail(f"{action}: the callback reports failure for a subject it does not hold")


def _answer_problems(action: str, answer: http.Answer, number: int, pages: int) -> list[str]:
    where = f"page {number} of the answer" if pages > 1 else "the answer"
    if not answer.data and answer.raw.strip()[:1] != b"{":
        return [f"{where} is not a JSON object"]
    return [f"{where}: {p}" for p in protocol.problems(protocol.answer_schema(action), answer.data)]


def _synthetic_problems(action: str, data: dict) -> list[str]:
    """What an answer for the synthetic subject cannot hold: a service that reports holding
    it, or exports rows for it, answers without looking."""
    if action == "check" and any(data.get(name) for name in ("emails", "phones", "obligations")):
        return ["reports holding the synthetic subject, whom no one has: it answers without "
                "looking the subject up"]  # fmt: skip
    if action == "export" and data.get("rows"):
        return [f"returns {len(data['rows'])} rows for the synthetic subject, whom no one has"]
    return []


def receive_callback(*, run_id: str, timestamp: str, signature: str, raw: bytes) -> int:
    """Keep what a service sent to a conformance run's callback URL, for the waiting run to
    judge; the HTTP status to answer, as the real callback endpoint would."""
    run = cache.get(_run_key(run_id))
    system = run and DownstreamSystem.objects.filter(pk=run["system"]).first()
    if system is None:
        return 404
    data = protocol.parse_object(raw)
    key = str(data.get("idempotency_key", ""))
    if key not in run["keys"]:
        cache.set(_callback_key(run_id, "other"), True, RUN_SECONDS)
        return 409
    stale = not timestamp.isdigit() or abs(time.time() - int(timestamp)) > http.MAX_SKEW_SECONDS
    signed = http.signed_by(system.settings, timestamp, signature, raw)
    problems = protocol.problems("Callback", data)
    cache.set(
        _callback_key(run_id, key),
        {"stale": stale, "signed": signed, "problems": problems, "status": data.get("status")},
        RUN_SECONDS,
    )
    return 401 if stale or not signed else (400 if problems else 200)


def _run_key(run_id: str) -> str:
    return f"dsar:conformance:{run_id}"


def _callback_key(run_id: str, key: str) -> str:
    return f"dsar:conformance:{run_id}:{key}"


def run_check(
    *, system: DownstreamSystem, user=None, enable: bool = False,
    wait: float = CALLBACK_WAIT_SECONDS,
) -> Report:  # fmt: skip
    """Check ``system``, audit the result, and enable it if it passed and ``enable`` asks.

    ``user`` is the admin who asked (None for the command line). Raises ``PermissionDenied``
    for a user who may not manage systems, ``ValidationError`` as ``check`` does.
    """
    if user is not None:
        permissions.require(user, "systems")
    report = check(system, wait=wait)
    with transaction.atomic():
        locked = DownstreamSystem.objects.select_for_update().get(pk=system.pk)
        enabled = enable and report.passed and not locked.enabled
        if enabled:
            locked.enabled = True
            locked.save(update_fields=["enabled"])
        record_event(
            action="fanout.conformance_checked",
            actor=Actor.staff(user) if user is not None else Actor.system("check_downstream"),
            payload={"system": system.name, "passed": report.passed,
                     "failures": len(report.failures), "enabled": enabled,
                     "destination": connector_for(system.kind).describe(system.settings)},
        )  # fmt: skip
    system.enabled = locked.enabled
    return report
