"""``http``: a signed JSON POST; ``200`` done, ``202`` accepted (finished by our callback).

The protocol is written down in ``docs/downstream-protocol.md`` (v1) and described for the
implementing service in ``dsar/fanout/downstream-protocol.yaml``. In short: ``X-DSAR-Signature:
hex(HMAC-SHA256(secret, timestamp + "." + raw body))`` with ``X-DSAR-Timestamp``; the
idempotency key travels in the body and in ``Idempotency-Key``. A ``200`` is done only if its
JSON body echoes the key (``"idempotency_key"``). ``check`` and ``export`` answer ``200`` with
their data (v1); an export may come in pages (``"next"`` → the same request again with
``"cursor"``). Timeouts, connection errors and 5xx are retried by the engine; other 4xx fail
with the reason.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import urllib3
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from dsar.fanout import destinations
from dsar.fanout.connectors.base import (
    ACCEPTED,
    CALLBACK,
    DONE,
    FAILED,
    RETRY,
    Call,
    Connector,
    Outcome,
    RowSink,
    SubjectKeys,
)

PROTOCOL_VERSION = "v1"
# How far a signed timestamp may be from our clock, either way, for a callback to be taken.
MAX_SKEW_SECONDS = 300
# Actions whose answer is their data: v1 asks a 200 of them, as a callback carries none. A
# 202 is still taken (services written before v1); the conformance check fails it.
ANSWERED_AT_ONCE = frozenset({"check", "export"})
# Bounds on one export: a service that pages forever, or sends more than a person's data
# plausibly is, fails the task instead of filling a worker's memory.
MAX_EXPORT_PAGES = 200
MAX_EXPORT_ROWS = 100_000  # gathered in one answer (no sink: a conformance check)
MAX_PAGE_ROWS = 100_000  # on one page, when each page is written out as it comes
MAX_CURSOR_CHARS = 1000

# One pool per worker process, safe across threads: connections to a system are kept alive
# from one task to the next. No retries or redirects here: the engine owns retrying (with its
# backoff and attempt count), and a signed request must not be replayed to another address.
# Proxies are not read from the environment; downstream systems are called directly.
_pool = urllib3.PoolManager(retries=False, maxsize=4)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def callback_secrets(config: dict) -> list[str]:
    """The secrets a callback of this system may be signed with: ``secret`` first, then any
    ``previous_secrets`` kept while the service moves to the new one (key rotation)."""
    candidates = [config.get("secret"), *(config.get("previous_secrets") or [])]
    return [s for s in candidates if isinstance(s, str) and s]


def signed_by(config: dict, timestamp: str, signature: str, body: bytes) -> bool:
    """True if ``signature`` is ours over ``timestamp`` and ``body`` with one of the system's
    secrets. A system without a secret proves nothing: anyone can sign with an empty key."""
    return any(
        hmac.compare_digest(sign(secret, timestamp, body), signature)
        for secret in callback_secrets(config)
    )


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of a downstream service: its status and JSON object (``{}`` if none)."""

    status: int
    data: dict
    raw: bytes


def message_for(
    *, action: str, keys: SubjectKeys, idempotency_key: str, callback_url: str = "",
    changes: list[dict] | None = None, test: bool = False, purposes: list[str] | None = None,
) -> dict:  # fmt: skip
    """The body we POST for one action (``docs/downstream-protocol.md``)."""
    message = {
        "action": action,
        "idempotency_key": idempotency_key,
        "subject": keys.as_params(),
        "callback_url": callback_url,
    }
    if changes is not None:
        message["changes"] = changes
    if purposes is not None:
        message["purposes"] = purposes
    if test:  # a conformance run's synthetic subject: the service can tell it from a person
        message["test"] = True
    return message


def send(
    config: dict, message: dict, *, timeout: float, secret: str | None = None,
    timestamp: int | None = None,
) -> Answer | Outcome:  # fmt: skip
    """POST one signed message; its ``Answer``, or the ``Outcome`` of a request that got none.

    ``secret`` and ``timestamp`` default to the system's secret and now; the conformance check
    passes others to see that a service refuses what it should.
    """
    try:
        destinations.require_url(config.get("url") or "")
    except destinations.Refused as exc:
        return Outcome(FAILED, f"refused: {exc}")
    body = json.dumps(message, separators=(",", ":")).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": message["idempotency_key"],
        "X-DSAR-Timestamp": stamp,
        "X-DSAR-Signature": sign(config["secret"] if secret is None else secret, stamp, body),
    }
    try:
        response = _pool.request(
            "POST", config["url"], body=body, headers=headers, timeout=float(timeout)
        )
    except urllib3.exceptions.NewConnectionError:  # refused or unreachable (a subclass of
        return Outcome(RETRY, "connection failed")  # the timeout error, so caught first)
    except urllib3.exceptions.TimeoutError:
        return Outcome(RETRY, "timed out")
    except urllib3.exceptions.HTTPError:  # reset, DNS, TLS: try again later
        return Outcome(RETRY, "connection failed")
    return Answer(response.status, _json(response.data), response.data)


def run(
    *,
    config: dict,
    action: str,
    keys: SubjectKeys,
    idempotency_key: str,
    timeout: int,
    callback_url: str = "",
    changes: list[dict] | None = None,
    test: bool = False,
    observe: Callable[[Answer], None] | None = None,
    export_to: RowSink | None = None,
    purposes: list[str] | None = None,
):
    """One attempt of ``action``; ``observe`` sees every answer (the conformance check)."""
    message = message_for(
        action=action, keys=keys, idempotency_key=idempotency_key, callback_url=callback_url,
        changes=changes, test=test, purposes=purposes,
    )  # fmt: skip
    answer = send(config, message, timeout=timeout)
    if isinstance(answer, Outcome):
        return answer
    if observe is not None:
        observe(answer)
    if answer.status == 200:
        outcome = _answered(answer.data, idempotency_key)
        if action == "export" and outcome.state == DONE:
            return _export(config, message, answer.data, timeout=timeout, observe=observe,
                           sink=export_to)  # fmt: skip
        return outcome
    if answer.status == 202:
        return Outcome(ACCEPTED)
    return _refused(answer)


def _refused(answer: Answer) -> Outcome:
    if answer.status >= 500:
        return Outcome(RETRY, f"HTTP {answer.status}")
    return Outcome(FAILED, f"HTTP {answer.status}; {excerpt(answer.raw)}")


def _export(
    config: dict, message: dict, data: dict, *, timeout: float,
    observe: Callable[[Answer], None] | None, sink: RowSink | None = None,
) -> Outcome:  # fmt: skip
    """Gather an export's pages: while an answer carries ``"next"``, ask again with it as
    ``"cursor"`` (same body and idempotency key, signed afresh). A broken page fails the
    whole export; a lost connection or 5xx retries it from the first page. With ``sink``
    each page's rows are written there as it arrives (one page in memory, at most
    ``MAX_PAGE_ROWS``); without, they are gathered, at most ``MAX_EXPORT_ROWS``."""
    rows, seen, page, count = [], set(), 1, 0
    while True:
        if problem := page_problem(data, page):
            return Outcome(FAILED, problem)
        count += len(data.get("rows", []))
        if sink is not None and len(data.get("rows", [])) > MAX_PAGE_ROWS:
            return Outcome(FAILED, f"export page {page} of more than {MAX_PAGE_ROWS} rows")
        if sink is not None:
            sink.write(data.get("rows", []))
        else:
            rows += data.get("rows", [])
        if sink is None and len(rows) > MAX_EXPORT_ROWS:
            return Outcome(FAILED, f"export of more than {MAX_EXPORT_ROWS} rows: not taken")
        cursor = data.get("next")
        if cursor in (None, ""):
            break
        if cursor in seen:
            return Outcome(FAILED, f"export page {page} repeats the cursor of an earlier page")
        if page >= MAX_EXPORT_PAGES:
            return Outcome(FAILED, f"export of more than {MAX_EXPORT_PAGES} pages: not taken")
        seen.add(cursor)
        answer = send(config, {**message, "cursor": cursor}, timeout=timeout)
        if isinstance(answer, Outcome):
            return answer
        if observe is not None:
            observe(answer)
        page += 1
        if answer.status != 200:
            refused = _refused(answer)
            return Outcome(refused.state, f"export page {page}: {refused.detail}")
        checked = _answered(answer.data, message["idempotency_key"])
        if checked.state != DONE:
            return Outcome(checked.state, f"export page {page}: {checked.detail}")
        data = answer.data
    rest = {k: v for k, v in data.items() if k not in ("rows", "next")}
    if sink is not None:
        return Outcome(DONE, data={**rest, "row_count": count, "pages": page})
    return Outcome(DONE, data={**rest, "rows": rows, "pages": page})


def page_problem(data: dict, page: int) -> str:
    """What makes one export answer unusable, in words; empty when it is fine."""
    rows = data.get("rows", [])
    if not isinstance(rows, list):
        return f'export page {page}: "rows" is not a list'
    if not all(isinstance(row, dict) for row in rows):
        return f"export page {page}: every row must be a JSON object"
    cursor = data.get("next")
    if cursor is not None and (not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS):
        return (
            f'export page {page}: "next" must be a string of {MAX_CURSOR_CHARS} characters at most'
        )
    return ""


def excerpt(raw: bytes, limit: int = 80) -> str:
    """A downstream's own words, bounded and labelled as theirs: shown to staff as a hint,
    never taken for our own message (control characters and markup-bearing quotes dropped)."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    text = "".join(c for c in text if c.isprintable() and c not in '<>"`')[:limit]
    return f'the system answered (unverified): "{text}"' if text else "no explanation given"


def _answered(data: dict, idempotency_key: str) -> Outcome:
    """A 200 is done only when its body names the key we sent: a wrong URL, a default page
    or a stub answers 200 to anything, and a mixed-up answer may be about another request.

    The body, not the ``Idempotency-Key`` header: a gateway may echo request headers without
    the service behind it having done anything. Failed rather than retried: a peer that does
    not echo the key will not start doing so by itself, and retrying would hide that from
    staff for the whole backoff; once it is fixed, staff retry with the same key, which the
    peer acts on once.
    """
    echoed = data.get("idempotency_key")
    if echoed == idempotency_key:
        return Outcome(DONE, data=data)
    if echoed is None:
        return Outcome(FAILED, "HTTP 200 without our idempotency key: not taken as done")
    return Outcome(FAILED, "HTTP 200 for another idempotency key: not taken as done")


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:  # also UnicodeDecodeError
        return {}
    return data if isinstance(data, dict) else {}


def fields(config: dict) -> set[str]:
    return set(config.get("fields", []))


class Http(Connector):
    kind, label = "http", "HTTP service"
    actions = frozenset(
        {"check", "delete", "export", "correct", "anonymise", "close_account", "restrict",
         "opt_out"}
    )  # fmt: skip
    # The secrets too: whoever holds one can sign "done" callbacks for the system's tasks.
    guarded = ("url", "secret", "previous_secrets")
    finishes_later = CALLBACK

    def config_errors(self, config: dict) -> list[str]:
        try:
            URLValidator(schemes=["http", "https"])(config.get("url") or "")
        except ValidationError:
            return ['Give "url", the http(s) address we POST to.']
        if not isinstance(config.get("secret"), str) or len(config["secret"]) < 16:
            return ['Give "secret", at least 16 characters, shared for the signatures.']
        previous = config.get("previous_secrets", [])
        if not isinstance(previous, list) or not all(
            isinstance(s, str) and len(s) >= 16 for s in previous
        ):
            return ['Give "previous_secrets" as a list of secrets of at least 16 characters.']
        try:
            destinations.require_url(config["url"])
        except destinations.Refused as exc:
            return [str(exc)]
        return []

    def fields(self, config: dict) -> set[str]:
        return fields(config)

    def describe(self, config: dict) -> str:
        return destinations.describe_url(config.get("url") or "")

    def run(self, call: Call) -> Outcome:
        return run(
            config=call.config, action=call.action, keys=call.keys,
            idempotency_key=call.idempotency_key, timeout=call.timeout,
            callback_url=call.callback_url, changes=call.changes, export_to=call.export_to,
            purposes=call.purposes,
        )  # fmt: skip
