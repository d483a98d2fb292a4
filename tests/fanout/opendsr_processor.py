"""A real OpenDSR (OpenGDPR) processor for the tests, written from the published specification.

It serves ``GET /v1/discovery``, ``GET /v1/cert.pem``, ``POST /v1/opengdpr_requests`` (201 with
a signed receipt), ``GET /v1/opengdpr_requests/{id}`` (a signed status) and ``DELETE`` (cancel
while pending), validates what controllers send as the specification says, and reports status
changes by POSTing signed callbacks to every ``status_callback_urls`` entry of a request.
Signatures are base64 RSA PKCS#1 v1.5 over SHA-256 of the raw body, made with the key of a
certificate it issues itself for 127.0.0.1.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests as http
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

DOMAIN = "127.0.0.1"
REQUEST_TYPES = ("erasure", "access")
IDENTITIES = [("email", "raw"), ("email", "sha256"), ("controller_customer_id", "raw")]
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def issue_certificate(*, days: int = 365) -> tuple[rsa.RSAPrivateKey, str]:
    """A key and a certificate for 127.0.0.1 (PEM), valid from yesterday for ``days``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(pem: str) -> str:
    """The certificate's SHA-256 fingerprint in hex, as an approver compares it."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return certificate.fingerprint(hashes.SHA256()).hex()


def sign(key: rsa.RSAPrivateKey, raw: bytes) -> str:
    return base64.b64encode(key.sign(raw, padding.PKCS1v15(), hashes.SHA256())).decode()


def _rfc3339(value) -> bool:
    try:
        dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in str(value)


class Processor:
    """The processor's state: the requests it holds and how it signs; tests drive it."""

    def __init__(self):
        self.key, self.certificate_pem = issue_certificate()
        self.requests: dict[str, dict] = {}  # subject_request_id → request and its status
        self.received: list[dict] = []  # every well-formed request body
        self.refused: list[str] = []  # why each malformed one was refused
        self.callbacks: list[tuple[str, int]] = []  # (status, our answer's HTTP status)
        self.supported_types = list(REQUEST_TYPES)
        self.sign_receipts = True
        self.lock = threading.Lock()
        self.url = ""

    # --- what the processor does on its own -----------------------------------------------

    def advance(self, request_id: str, status: str, *, key=None) -> list[int]:
        """Move a request to ``status`` and call back every URL it gave, signed with ``key``
        (default: the processor's own); returns the HTTP status of each answer."""
        with self.lock:
            held = self.requests[request_id]
            held["request_status"] = status
        answers = []
        for url in held["status_callback_urls"]:
            raw = json.dumps({**self.status_of(request_id), "status_callback_url": url}).encode()
            headers = {
                "Content-Type": "application/json",
                "X-OpenGDPR-Processor-Domain": DOMAIN,
                "X-OpenGDPR-Signature": sign(key or self.key, raw),
            }
            answer = http.post(url, data=raw, headers=headers, timeout=10)
            self.callbacks.append((status, answer.status_code))
            answers.append(answer.status_code)
        return answers

    def status_of(self, request_id: str) -> dict:
        held = self.requests[request_id]
        return {
            "controller_id": "dsar-tests",
            "expected_completion_time": held["expected_completion_time"],
            "subject_request_id": request_id,
            "request_status": held["request_status"],
            "api_version": "0.1",
        }

    # --- the endpoints --------------------------------------------------------------------

    def discovery(self) -> dict:
        return {
            "api_version": "0.1",
            "supported_identities": [
                {"identity_type": t, "identity_format": f} for t, f in IDENTITIES
            ],
            "supported_subject_request_types": self.supported_types,
            "processor_certificate": f"{self.url}/cert.pem",
        }

    def submit(self, body) -> tuple[int, dict]:
        problem = self._problem(body)
        if problem:
            self.refused.append(problem)
            return 400, {"error": {"code": 400, "message": problem}}
        request_id = body["subject_request_id"]
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self.lock:
            if request_id in self.requests:
                return 409, {"error": {"code": 409, "message": "request exists"}}
            self.received.append(body)
            self.requests[request_id] = {
                "request_status": "pending",
                "status_callback_urls": list(body.get("status_callback_urls") or []),
                "expected_completion_time": (now + dt.timedelta(days=30)).isoformat(),
                "body": body,
            }
        raw = json.dumps(body, separators=(",", ":")).encode()
        return 201, {
            "controller_id": "dsar-tests",
            "expected_completion_time": self.requests[request_id]["expected_completion_time"],
            "received_time": now.isoformat(),
            "encoded_request": base64.b64encode(raw).decode(),
            "subject_request_id": request_id,
        }

    def _problem(self, body) -> str:
        """What the specification's section 7.1 finds wrong with a request body, if anything."""
        if not isinstance(body, dict):
            return "the body must be a JSON object"
        if not UUID4.match(str(body.get("subject_request_id", ""))):
            return "subject_request_id must be a lowercase UUID v4"
        if body.get("subject_request_type") not in self.supported_types:
            return "subject_request_type is not supported"
        if not _rfc3339(body.get("submitted_time")):
            return "submitted_time must be an RFC 3339 date"
        identities = body.get("subject_identities")
        if not isinstance(identities, list) or not identities:
            return "subject_identities is required"
        for identity in identities:
            pair = (identity.get("identity_type"), identity.get("identity_format"))
            if pair not in IDENTITIES or not identity.get("identity_value"):
                return "an identity is not supported"
        urls = body.get("status_callback_urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            return "status_callback_urls must be a list of URLs"
        return ""


def serve() -> tuple[Processor, ThreadingHTTPServer]:
    """Start the processor on a free port of 127.0.0.1, in a thread."""
    processor = Processor()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            path = self.path.removeprefix("/v1")
            if path == "/discovery":
                return self._json(200, processor.discovery(), signed=False)
            if path == "/cert.pem":
                return self._answer(200, processor.certificate_pem.encode(), "text/plain")
            request_id = path.removeprefix("/opengdpr_requests/")
            if request_id in processor.requests:
                return self._json(200, processor.status_of(request_id))
            return self._json(404, {"error": {"code": 404, "message": "no such request"}})

        def do_POST(self):  # noqa: N802
            if self.path != "/v1/opengdpr_requests":
                return self._json(404, {"error": {"code": 404}})
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                return self._json(400, {"error": {"code": 400, "message": "not JSON"}})
            status, answer = processor.submit(body)
            self._json(status, answer, signed=status == 201 and processor.sign_receipts)

        def do_DELETE(self):  # noqa: N802
            request_id = self.path.removeprefix("/v1/opengdpr_requests/")
            held = processor.requests.get(request_id)
            if held is None or held["request_status"] != "pending":
                return self._json(400, {"error": {"code": 400, "message": "cannot cancel"}})
            held["request_status"] = "cancelled"
            self._json(202, {"controller_id": "dsar-tests", "subject_request_id": request_id})

        def _json(self, status: int, body: dict, *, signed: bool = True):
            raw = json.dumps(body).encode()
            headers = {"X-OpenGDPR-Processor-Domain": DOMAIN}
            if signed:
                headers["X-OpenGDPR-Signature"] = sign(processor.key, raw)
            self._answer(status, raw, "application/json", headers)

        def _answer(self, status, raw: bytes, content_type: str, headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    processor.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return processor, server


def new_request_id() -> str:
    return str(uuid.uuid4())
