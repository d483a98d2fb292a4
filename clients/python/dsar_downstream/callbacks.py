"""Report the end of deferred work: a signed POST to the request's ``callback_url``.

Body ``{"idempotency_key": "…", "status": "done" | "failed", "detail": "…"}`` (detail at most
300 characters, shown to staff), signed like the product's requests. The product answers 200
when it took the result, 401 for a bad signature or a stale timestamp, and 409 when the task
is not waiting for it (already finished: a repeat of a callback it took is answered so).
"""

import json
import time
import urllib.error
import urllib.request

from dsar_downstream.errors import CallbackFailed
from dsar_downstream.signatures import Secrets, secret_list, signed_headers

DONE, FAILED = "done", "failed"
MAX_DETAIL = 300


def sign_callback(
    secret: str, *, idempotency_key: str, status: str, detail: str = "", now: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a callback, ready to POST."""
    if status not in (DONE, FAILED):
        raise ValueError(f"A callback's status is {DONE!r} or {FAILED!r}, not {status!r}.")
    body = json.dumps(
        {"idempotency_key": idempotency_key, "status": status, "detail": detail[:MAX_DETAIL]},
        separators=(",", ":"),
    ).encode()
    return body, signed_headers(secret, body, now=now)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a signed message goes where it was sent
        return None


# No proxies from the environment and no redirects: the callback goes straight to the URL the
# product gave, like the product's own calls to us.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def send_callback(
    secret: Secrets,
    callback_url: str,
    *,
    idempotency_key: str,
    status: str,
    detail: str = "",
    timeout: float = 10,
    attempts: int = 3,
    wait: float = 2.0,
) -> int:
    """POST the callback; returns the product's HTTP status (200, or 409 when it already
    had the result). Connection errors and 5xx are tried ``attempts`` times, ``wait`` seconds
    apart, doubling. With several secrets (a rotation), a 401 tries the next one.

    Raises ``CallbackFailed`` when the product refused it or could not be reached.
    """
    if not callback_url.startswith(("http://", "https://")):
        raise CallbackFailed(f"The callback_url is not an http(s) address: {callback_url!r}.")
    secrets = secret_list(secret)
    for number, candidate in enumerate(secrets):
        body, headers = sign_callback(
            candidate, idempotency_key=idempotency_key, status=status, detail=detail
        )
        code = _post(callback_url, body, headers, timeout=timeout, attempts=attempts, wait=wait)
        if code == 401 and number + 1 < len(secrets):
            continue
        if 200 <= code < 300 or code == 409:
            return code
        raise CallbackFailed(f"The product refused the callback: HTTP {code}.", status=code)
    raise AssertionError("unreachable")  # secret_list is never empty


def _post(url: str, body: bytes, headers: dict, *, timeout, attempts, wait) -> int:
    problem = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(wait * 2 ** (attempt - 1))
        # The scheme was checked by send_callback: http(s) only, never file: or ftp:.
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with _opener.open(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code < 500:
                return exc.code
            problem = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out
            problem = str(getattr(exc, "reason", exc))
    raise CallbackFailed(f"The callback was not delivered after {attempts} tries: {problem}.")
