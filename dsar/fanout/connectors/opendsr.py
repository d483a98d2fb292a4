"""``opendsr``: a processor speaking OpenDSR (formerly OpenGDPR), the open controller→processor
protocol of analytics and marketing vendors.

Configuration: ``{"url": "https://opengdpr.processor.example/v1", "certificate_pem": "…",
"identity_format": "raw" | "sha256", "identity_types": ["email", …]}``. ``url`` is the base the
processor serves ``/discovery`` and ``/opengdpr_requests`` under. ``certificate_pem`` is the
X.509 certificate whose key signs the processor's receipts, status answers and callbacks; when
a system is registered without one it is read from the processor's discovery
(``processor_certificate``) and pinned, together with the identity types the processor takes,
and the second admin who approves the system approves that certificate (its SHA-256
fingerprint is in ``describe``). We trust the pinned certificate, not a CA chain: a processor
that rotates its key is re-pinned by changing the system (drop ``certificate_pem`` to read the
discovery again), which again waits for a second admin.

Our ``delete`` is an ``erasure`` and our ``export`` an ``access`` request; the task's
idempotency key is the ``subject_request_id``. A signed ``201`` receipt leaves the task
waiting; the processor's signed status callbacks (``dsar.api.opendsr``) or, when they do not
come, our polls of ``GET /opengdpr_requests/{id}`` (``poll``, asked by the reconciler) finish
it: ``completed`` is done, ``cancelled`` is failed, ``pending`` and ``in_progress`` keep it
waiting. The protocol does not say how an access result travels (a processor may offer a
``results_url``); we do not fetch it, so an ``export`` is done with no rows and its note says
staff obtain the result from the processor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from urllib.parse import urlsplit

import urllib3
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

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
    SubjectKeys,
)
from dsar.fanout.connectors.http import excerpt

REQUEST_TYPES = {"delete": "erasure", "export": "access"}
STATUSES = ("pending", "in_progress", "completed", "cancelled")
FORMATS = ("raw", "sha256")
# Our keys and the identity types the protocol names them by.
IDENTITY_TYPES = {"email": "email", "phone_number": "phone", "controller_customer_id": "account_id"}
SIGNATURE_HEADER = "X-OpenGDPR-Signature"
DOMAIN_HEADER = "X-OpenGDPR-Processor-Domain"
API_VERSION = "0.1"
ACCESS_NOTE = "completed; its access result is not collected here: obtain it from the processor"

# As in ``http``: no retries (the engine owns them), no redirects, no proxies from the
# environment; one pool per worker process.
_pool = urllib3.PoolManager(retries=False, maxsize=4)


class Unverified(Exception):
    """An answer or callback not signed by the pinned certificate; the message says why."""


def verify(config: dict, raw: bytes, signature: str) -> None:
    """Raise ``Unverified`` unless ``signature`` (base64) signs ``raw`` with the key of the
    system's pinned certificate (RSA PKCS#1 v1.5 or ECDSA, SHA-256)."""
    try:
        key = _certificate(config.get("certificate_pem") or "").public_key()
        signed = base64.b64decode("".join(signature.split()), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise Unverified("no valid signature or certificate") from exc
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signed, raw, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signed, raw, ec.ECDSA(hashes.SHA256()))
        else:
            raise Unverified("the certificate's key is neither RSA nor EC")
    except InvalidSignature as exc:
        raise Unverified("bad signature") from exc


def domain(config: dict) -> str:
    """The processor's domain: the host of its URL (callbacks must name it)."""
    return (urlsplit(config.get("url") or "").hostname or "").lower()


def request_status(
    config: dict, raw: bytes, signature: str, *, idempotency_key: str, action: str
) -> Outcome:
    """What a signed status body says of our request (see ``status_outcome``). Raises
    ``Unverified`` for a bad signature and ``ValueError`` for a body that is not a status of
    this request."""
    verify(config, raw, signature)
    body = _json(raw)
    if body.get("subject_request_id") != idempotency_key:
        raise ValueError("The status is for another subject_request_id.")
    if body.get("request_status") not in STATUSES:
        raise ValueError(f"request_status must be one of: {', '.join(STATUSES)}.")
    return status_outcome(body, action=action)


def status_outcome(body: dict, *, action: str) -> Outcome:
    """A verified status of one of our requests as an outcome: ``completed`` done (an access
    with no rows: its result is not collected here), ``cancelled`` failed, ``pending`` and
    ``in_progress`` accepted (still waiting, with what the processor expects)."""
    status = body["request_status"]
    if status == "completed":
        return Outcome(DONE, ACCESS_NOTE if action == "export" else "completed", {"rows": []})
    if status == "cancelled":
        return Outcome(FAILED, "the processor cancelled the request")
    return Outcome(ACCEPTED, f"processor: {status}{_expected(body)}")


def run(call: Call) -> Outcome:
    """Submit the request; a signed ``201`` receipt for our id is accepted (waiting)."""
    config = call.config
    request_type = REQUEST_TYPES.get(call.action)
    if request_type is None:
        return Outcome(FAILED, f"An OpenDSR processor cannot {call.action}.")
    identities = subject_identities(config, call.keys)
    if not identities:
        return Outcome(FAILED, "No proven identity of a type this processor takes.")
    message = {
        "subject_request_id": call.idempotency_key,
        "subject_request_type": request_type,
        "submitted_time": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject_identities": identities,
        "api_version": API_VERSION,
        "status_callback_urls": [call.callback_url] if call.callback_url else [],
    }
    body = json.dumps(message, separators=(",", ":")).encode()
    answer = _send(config, "POST", "/opengdpr_requests", body, call.timeout)
    if isinstance(answer, Outcome):
        return answer
    if answer.status == 409:  # a resubmission of an id it holds: ask where it stands
        return poll(call)
    if answer.status not in (200, 201):
        return _refused(answer)
    try:
        verify(config, answer.data, answer.headers.get(SIGNATURE_HEADER, ""))
    except Unverified as exc:
        return Outcome(FAILED, f"receipt not signed by the pinned certificate ({exc})")
    receipt = _json(answer.data)
    if receipt.get("subject_request_id") != call.idempotency_key:
        return Outcome(FAILED, "receipt for another subject_request_id: not taken as accepted")
    return Outcome(ACCEPTED, f"processor: pending{_expected(receipt)}")


def poll(call: Call) -> Outcome:
    """Ask the processor where our request stands (no callback came in time)."""
    path = f"/opengdpr_requests/{call.idempotency_key}"
    answer = _send(call.config, "GET", path, None, call.timeout)
    if isinstance(answer, Outcome):
        return answer
    if answer.status == 404:  # it lost or never got the request: submit it again
        return Outcome(RETRY, "the processor does not know the request")
    if answer.status != 200:
        return _refused(answer)
    signature = answer.headers.get(SIGNATURE_HEADER, "")
    try:
        return request_status(
            call.config, answer.data, signature,
            idempotency_key=call.idempotency_key, action=call.action,
        )  # fmt: skip
    except Unverified as exc:
        return Outcome(RETRY, f"status not signed by the pinned certificate ({exc})")
    except ValueError as exc:
        return Outcome(RETRY, f"unusable status: {exc}")


def subject_identities(config: dict, keys: SubjectKeys) -> list[dict]:
    """The proven keys as the protocol's identity objects, hashed when the processor asks."""
    form = config.get("identity_format", "raw")
    values = keys.as_params()
    identities = []
    for identity_type in config.get("identity_types") or ["email"]:
        value = values.get(IDENTITY_TYPES.get(identity_type, ""), "")
        if value:
            if form == "sha256":
                value = hashlib.sha256(value.encode()).hexdigest()
            identities.append(
                {"identity_type": identity_type, "identity_format": form, "identity_value": value}
            )
    return identities


def discover(config: dict, timeout: float = 10.0) -> dict:
    """Read the processor's discovery and certificate: the settings to pin. Raises
    ``ValueError`` with a message for staff when they cannot be read or do not fit."""
    base = (config.get("url") or "").rstrip("/")
    found = _json(_get(base + "/discovery", timeout))
    form = config.get("identity_format", "raw")
    offered = {
        (i.get("identity_type"), i.get("identity_format"))
        for i in found.get("supported_identities") or []
        if isinstance(i, dict)
    }
    wanted = config.get("identity_types") or list(IDENTITY_TYPES)
    types = [t for t in wanted if (t, form) in offered]
    if not types or ("identity_types" in config and types != wanted):
        raise ValueError(f"The processor does not take {', '.join(wanted)} as {form}.")
    where = found.get("processor_certificate")
    if not isinstance(where, str) or urlsplit(where).hostname != urlsplit(base).hostname:
        raise ValueError("The discovery's processor_certificate is not on the processor's host.")
    try:
        destinations.require_url(where)
    except destinations.Refused as exc:
        raise ValueError(f"processor_certificate: {exc}") from exc
    pem = _get(where, timeout).decode("ascii", "replace")
    return {"certificate_pem": pem, "identity_types": types}


class OpenDSR(Connector):
    kind, label = "opendsr", "OpenDSR processor"
    actions = frozenset(REQUEST_TYPES)
    # The certificate too: whoever holds its key can sign "completed" for the system's tasks.
    guarded = ("url", "certificate_pem")
    finishes_later = CALLBACK
    callback_route = "opendsr-callback"

    def learned(self, config: dict) -> dict:
        if config.get("certificate_pem") or _settings_errors(config):
            return {}  # pinned already, or nothing to read it from (config_errors says why)
        try:
            return discover(config)
        except ValueError as exc:
            raise ValueError(
                f"Could not pin the processor's certificate from its discovery: {exc} "
                'Give "certificate_pem" yourself, or fix the processor.'
            ) from exc

    def config_errors(self, config: dict) -> list[str]:
        if errors := _settings_errors(config):
            return errors
        try:
            certificate = _certificate(config.get("certificate_pem") or "")
        except ValueError:
            return ['Give "certificate_pem", the processor\'s X.509 certificate in PEM form.']
        if certificate.not_valid_after_utc < timezone.now():
            return ['"certificate_pem" has expired; pin the processor\'s current certificate.']
        return []

    def describe(self, config: dict) -> str:
        where = destinations.describe_url(config.get("url") or "")
        try:
            certificate = _certificate(config.get("certificate_pem") or "")
        except ValueError:
            return where
        return f"{where} (certificate SHA-256 {certificate.fingerprint(hashes.SHA256()).hex()})"

    def run(self, call: Call) -> Outcome:
        return run(call)

    def poll(self, call: Call) -> Outcome:
        return poll(call)


def _settings_errors(config: dict) -> list[str]:
    """What is wrong with the configuration, the certificate aside."""
    try:
        URLValidator(schemes=["http", "https"])(config.get("url") or "")
    except ValidationError:
        return ['Give "url", the http(s) address the processor serves /discovery under.']
    try:
        destinations.require_url(config["url"])
    except destinations.Refused as exc:
        return [str(exc)]
    if config.get("identity_format", "raw") not in FORMATS:
        return [f'Give "identity_format" as one of: {", ".join(FORMATS)}.']
    types = config.get("identity_types", ["email"])
    if not isinstance(types, list) or not types or set(types) - set(IDENTITY_TYPES):
        return [f'Give "identity_types" from: {", ".join(IDENTITY_TYPES)}.']
    return []


def _certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())  # ValueError when it is none


def _send(config: dict, method: str, path: str, body: bytes | None, timeout: float):
    """The processor's answer, or the outcome of not getting one."""
    url = (config.get("url") or "").rstrip("/") + path
    try:
        destinations.require_url(url)
    except destinations.Refused as exc:
        return Outcome(FAILED, f"refused: {exc}")
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        answer = _pool.request(method, url, body=body, headers=headers, timeout=float(timeout))
    except urllib3.exceptions.NewConnectionError:
        return Outcome(RETRY, "connection failed")
    except urllib3.exceptions.TimeoutError:
        return Outcome(RETRY, "timed out")
    except urllib3.exceptions.HTTPError:
        return Outcome(RETRY, "connection failed")
    if answer.status >= 500:
        return Outcome(RETRY, f"HTTP {answer.status}")
    return answer


def _get(url: str, timeout: float) -> bytes:
    """A discovery document or certificate; ``ValueError`` when it cannot be read."""
    try:
        destinations.require_url(url)
        answer = _pool.request("GET", url, timeout=timeout)
    except destinations.Refused as exc:
        raise ValueError(str(exc)) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise ValueError(f"{url} did not answer.") from exc
    if answer.status != 200:
        raise ValueError(f"{destinations.describe_url(url)} answered HTTP {answer.status}.")
    return answer.data


def _refused(answer) -> Outcome:
    return Outcome(FAILED, f"HTTP {answer.status}; {excerpt(answer.data)}")


def _expected(body: dict) -> str:
    """The text ", expected by <date>" when the processor gave a well-formed time."""
    value = body.get("expected_completion_time")
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return f", expected by {when:%Y-%m-%d}"


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
