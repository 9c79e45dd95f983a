"""The client's errors: one base class, so `except ArborError` catches everything it raises."""

from __future__ import annotations


class ArborError(Exception):
    """Base of every error the client raises.

    `code` is a short name for what went wrong: for an error the coordinator sent, the wire's
    `Error.Code` name (``"REFUSED"``, ``"BAD_REQUEST"`` …); for client-side failures one of
    ``"TIMEOUT"``, ``"PROTOCOL"``, ``"BAD_ROW"``, ``"CLOSED"``. `message` names what and where.
    """

    def __init__(self, code: str, message: str, request: str | None = None):
        self.code = code
        self.message = message
        self.request = request
        where = f" (answering {request})" if request else ""
        super().__init__(f"arbor: {code}: {message}{where}")


class CoordinatorError(ArborError):
    """The coordinator answered a request with an `Error` envelope.

    `code` is the `arbor.v1.Error.Code` name, `message` the coordinator's text, `request` the
    request that was answered (``"PolicyUpdate"``, ``"BatchPull"`` …).
    """


class ArborTimeout(ArborError, TimeoutError):
    """No reply arrived within the timeout the caller asked for.

    The request may still be answered later (a pull stays queued at the coordinator); a late
    batch is kept and returned by the next `Client.pull()`.
    """

    def __init__(self, message: str, request: str | None = None):
        super().__init__("TIMEOUT", message, request)


class ProtocolError(ArborError):
    """A reply the client cannot use: undecodable frame, wrong protocol version, a malformed
    training row (`code` ``"BAD_ROW"``, naming the batch, row and key)."""
