"""From a signed request to an answer: the part the WSGI and Django helpers share.

``Endpoint(handler, secret).respond(headers, body) -> (status, body)``: 401 for a bad
signature, 400 for a bad body, 409 for an idempotency key reused for another request, 422
for a refusal, 503 to be asked again later, 500 for a bug in the handler (the product asks
again); 200 with the handler's answer and our ``idempotency_key``, or 202 for deferred work.
"""

import logging
import threading
import time
from collections.abc import Mapping

from dsar_downstream import idempotency
from dsar_downstream.callbacks import DONE, FAILED, send_callback
from dsar_downstream.errors import (
    BadRequest,
    CallbackFailed,
    KeyConflict,
    ProtocolError,
    TryLater,
)
from dsar_downstream.handler import Accepted, Handler, Later, Page
from dsar_downstream.messages import READS, DsarRequest, parse
from dsar_downstream.signatures import MAX_SKEW_SECONDS, Secrets, secret_list, verify

log = logging.getLogger("dsar_downstream")
LEASE_SECONDS = 3600


class Endpoint:
    """``lease``: how long an attempt that never answered (a crash) holds its key before a
    repeat of the request may act again; also how long deferred work may run in a thread."""

    def __init__(
        self,
        handler: Handler,
        secret: Secrets,
        *,
        store: idempotency.KeyStore | None = None,
        max_skew: int = MAX_SKEW_SECONDS,
        lease: float = LEASE_SECONDS,
        callback_wait: float = 2.0,
    ):
        self.handler, self.secrets = handler, secret_list(secret)
        self.store = store if store is not None else idempotency.MemoryStore()
        self.max_skew, self.lease, self.callback_wait = max_skew, lease, callback_wait

    def respond(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
        try:
            matched = verify(self.secrets, headers, body, max_skew=self.max_skew)
            request = parse(body)
            sent = {k.lower(): v for k, v in headers.items()}.get("idempotency-key")
            if sent is not None and sent != request.idempotency_key:
                raise BadRequest("The Idempotency-Key header and idempotency_key differ.")
            # The secret that verified the request is the one the product holds now: our
            # callbacks are signed with it first.
            secrets = [matched, *(s for s in self.secrets if s != matched)]
            if request.action in READS:  # reads are repeated freely: nothing to remember
                return self._run(request, secrets)
            return self._once(request, secrets)
        except ProtocolError as exc:
            return exc.status, {"error": exc.message}
        except Exception:
            log.exception("the handler failed")  # no request data: it names a person
            return 500, {"error": "The service failed; the product will ask again."}

    def _once(self, request: DsarRequest, secrets: list[str]) -> tuple[int, dict]:
        key = request.idempotency_key
        digest = idempotency.fingerprint(request.fingerprint())
        held = self.store.claim(key, digest, now=time.time(), lease=self.lease)
        if held is not None:
            return self._repeat(request, held, digest, secrets)
        try:
            status, answer = self._run(request, secrets)
        except BaseException:
            self.store.release(key)  # no answer given: the next attempt may act again
            raise
        if status != 202:
            self.store.answer(key, status=status, body=answer)
        return status, answer

    def _run(self, request: DsarRequest, secrets: list[str]) -> tuple[int, dict]:
        result = getattr(self.handler, request.action)(request)
        echo = {"idempotency_key": request.idempotency_key}
        if isinstance(result, Page | list):
            page = result if isinstance(result, Page) else Page(rows=result)
            answer = {**echo, "rows": list(page.rows)}
            return 200, {**answer, "next": page.next} if page.next else answer
        if isinstance(result, Later | Accepted) and request.action in READS:
            # The product takes a 202 to check or export as a failure: the data is the answer.
            raise TypeError(f"{request.action}() answers at once with its data, not later")
        if isinstance(result, Later | Accepted):
            accepted = {**echo, "accepted": True}
            deferred = isinstance(result, Later)
            self.store.answer(request.idempotency_key, status=202, body=accepted,
                              deferred=deferred)  # fmt: skip
            if deferred:
                self._start(request, result, secrets)
            return 202, accepted
        if not isinstance(result, dict):
            raise TypeError(f"{request.action}() returned {type(result).__name__}")
        return 200, {**result, **echo}

    def _repeat(self, request, held: idempotency.Record, digest: str, secrets) -> tuple:
        if held.fingerprint != digest:
            raise KeyConflict("This idempotency key was used for another request.")
        if held.state == idempotency.STARTED:
            raise TryLater("This request is being handled; ask again shortly.")
        if held.state == idempotency.ANSWERED and held.outcome:
            # It asks again, so our callback was lost: send it again.
            self._call_back(request, secrets, held.outcome, held.detail, settle=False)
        return held.status, held.body or {}

    def _start(self, request: DsarRequest, later: Later, secrets: list[str]) -> None:
        def work() -> None:
            try:
                outcome, detail = DONE, str(later.work() or "")
            except ProtocolError as exc:
                outcome, detail = FAILED, exc.message
            except Exception as exc:
                log.exception("deferred work failed")
                outcome, detail = FAILED, f"the service failed ({type(exc).__name__})"
            self._call_back(request, secrets, outcome, detail, settle=True, thread=False)

        threading.Thread(target=work, daemon=True, name="dsar-later").start()

    def _call_back(self, request, secrets, outcome, detail, *, settle, thread=True) -> None:
        def send() -> None:
            if settle:
                self.store.settle(request.idempotency_key, outcome=outcome, detail=detail)
            if not request.callback_url:
                log.warning("no callback_url: the product cannot learn how the work ended")
                return
            try:
                send_callback(secrets, request.callback_url, status=outcome, detail=detail,
                              idempotency_key=request.idempotency_key,
                              wait=self.callback_wait)  # fmt: skip
            except CallbackFailed as exc:
                log.warning("callback not taken: %s", exc)

        if thread:
            threading.Thread(target=send, daemon=True, name="dsar-callback").start()
        else:
            send()
