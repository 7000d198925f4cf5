"""The server's domain errors: what a backend raises when it refuses a request.

The hierarchy (under :class:`scopegraph.ScopegraphError`)::

    ScopegraphError
    └── ServerError                         a request the server cannot serve
        ├── NotFoundError       (LookupError)      no such assistant, thread, run, checkpoint
        ├── ConflictError                          the thread or run is in the wrong state
        ├── InvalidRequestError (ValueError)       the request names or holds a mistake
        │   └── BadRequestError                    one LangGraph's server answers with 400
        ├── AccessError                            custom auth refused it (401, 403, ...)
        └── UnavailableError    (ConnectionError)  shutting down, or a service is unreachable

Backends raise these and know nothing of HTTP; :mod:`scopegraph.server._http` alone maps
them to status codes (400, 404, 409, 422, 503). ``code`` is the error's name in the response
body (``{"error": code, "message": ...}``); the message names the mistake and the fix.
The run queue's and the event log's own errors are translated into these at the scale-out
backend's boundary.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import ScopegraphError

__all__ = (
    "AccessError",
    "BadRequestError",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "ServerError",
    "UnavailableError",
)


class ServerError(ScopegraphError):
    """A request the server cannot serve; ``code`` names the error on the wire."""

    code = "ServerError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(ServerError, LookupError):
    """No such assistant, thread, run or checkpoint."""

    code = "NotFound"


class ConflictError(ServerError):
    """The thread or run is in a state that forbids the request (busy, ended, exists)."""

    code = "Conflict"


class InvalidRequestError(ServerError, ValueError):
    """The request is malformed or names something that does not fit (bad id, input)."""

    code = "ValidationError"


class BadRequestError(InvalidRequestError):
    """A mistake LangGraph's server answers with 400 rather than 422 (both
    ``configurable`` and ``context``, a resume without a thread, a bad id in a filter,
    nothing to update): the same status, so that a client's handling of it is kept."""

    code = "BadRequest"


class UnavailableError(ServerError, ConnectionError):
    """The server is shutting down, or a service it needs cannot be reached: try again."""

    code = "ServiceUnavailable"


class AccessError(ServerError):
    """Custom auth (``langgraph_sdk.Auth`` handlers) refused the request: 403 when a
    handler returned False, else the status and headers of the ``HTTPException`` it
    raised (LangGraph's answers)."""

    code = "Forbidden"

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        names = {401: "Unauthorized", 403: "Forbidden", 500: "InternalServerError"}
        super().__init__(message, code=names.get(status, "HTTPError"))
        self.status = status
        self.headers = dict(headers or {})
