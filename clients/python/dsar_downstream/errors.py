"""What can go wrong, each with the HTTP status the product is answered with.

The product retries a 5xx (and a timeout) with backoff and fails the task on any other 4xx,
showing staff the start of our answer's body: so the messages are written for them.
"""


class ProtocolError(Exception):
    """A request we will not act on; ``status`` is the answer's HTTP status."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadSignature(ProtocolError):
    """Not signed with our shared secret, or signed too long ago (401)."""

    status = 401


class BadRequest(ProtocolError):
    """A body that is not a request of the protocol (400)."""

    status = 400


class KeyConflict(ProtocolError):
    """An idempotency key already used for a different request (409)."""

    status = 409


class Refuse(ProtocolError):
    """Raised by a handler that will not do this, ever: a legal hold, an unknown account (422).

    The product fails the task and shows staff the message; staff decide what next.
    """

    status = 422


class TryLater(ProtocolError):
    """Raised by a handler that cannot act just now: maintenance, a lock (503).

    The product sends the same request again later, with the same idempotency key.
    """

    status = 503


class CallbackFailed(Exception):
    """The product did not take our callback (a wrong secret, or it could not be reached)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status
