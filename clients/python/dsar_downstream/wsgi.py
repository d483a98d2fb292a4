"""``wsgi_app(handler, secret)``: the protocol as a WSGI application, for any WSGI server
(gunicorn, uWSGI, ``wsgiref``); ``make_server`` serves one on a thread per request."""

import json
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as _make_server

from dsar_downstream.endpoint import Endpoint
from dsar_downstream.handler import Handler
from dsar_downstream.signatures import Secrets

MAX_BODY = 1 << 20  # a request is a few hundred bytes; a megabyte is not one of ours
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           422: "Unprocessable Content", 500: "Internal Server Error",
           503: "Service Unavailable"}  # fmt: skip


def wsgi_app(handler: Handler, secret: Secrets, **options):
    """A WSGI application answering the product's POSTs at any path; ``options`` go to
    ``Endpoint`` (``store``, ``max_skew``, ``lease``)."""
    endpoint = Endpoint(handler, secret, **options)

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return _answer(start_response, 405, {"error": "POST only."}, [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return _answer(start_response, 413, {"error": "The body is too large."})
        body = environ["wsgi.input"].read(length)
        status, answer = endpoint.respond(_headers(environ), body)
        return _answer(start_response, status, answer)

    app.endpoint = endpoint
    return app


def _headers(environ: dict) -> dict[str, str]:
    """The request headers by their HTTP names (WSGI spells them ``HTTP_X_DSAR_…``)."""
    headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


def _answer(start_response, status: int, answer: dict, extra: list | None = None):
    body = json.dumps(answer, separators=(",", ":")).encode()
    start_response(
        f"{status} {REASONS.get(status, '')}".rstrip(),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
         *(extra or [])],
    )  # fmt: skip
    return [body]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # the requests are about people: log none of them
        pass


def make_server(app, *, host: str = "127.0.0.1", port: int = 0) -> WSGIServer:
    """A threaded ``wsgiref`` server for ``app`` (``port=0``: any free port, read it from
    ``server.server_port``). Call ``serve_forever()``; ``shutdown()`` stops it."""
    return _make_server(host, port, app, server_class=_ThreadingServer,
                        handler_class=_QuietHandler)  # fmt: skip
