"""The HTTP edge's helpers: JSON responses, SSE responses, and the one place where errors
become status codes.

:func:`status_of` maps the server's domain errors (:mod:`scopegraph.server._errors`) and
the engine's public errors to HTTP statuses; :func:`install_error_handlers` installs that
mapping (plus FastAPI's validation and routing errors) on an app. Every error body is
``{"detail": <message>, "error": <name>, "message": <what went wrong and how to fix it>}``:
``detail`` is what LangGraph's server sends (and what its SDKs show), ``error`` and
``message`` are scopegraph's.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from .. import ScopegraphError
from ..checkpoint import CheckpointError, CheckpointNotFoundError
from ._domain import EventStream
from ._errors import (
    AccessError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
    UnavailableError,
)
from ._logs import current_request_id
from ._settings import ServerSettings
from ._store import StoreError
from ._wire import dumps

__all__ = (
    "JSONResponse",
    "error_response",
    "event_stream_response",
    "refuse",
    "install_error_handlers",
    "page_response",
    "status_of",
)

log = logging.getLogger("scopegraph.server")

_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (BadRequestError, 400),  # before its base, InvalidRequestError
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidRequestError, 422),
    (UnavailableError, 503),
    (CheckpointNotFoundError, 404),
)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class EventSource(EventSourceResponse):
    """sse-starlette's response; a client dropped for not reading within the send
    timeout ends the response quietly (the stream's own ``finally`` handles the run)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except* SendTimeoutError:
            log.info("dropped a client that stopped reading (send timeout)")


def page_response(found: list[Any], following: int | None, offset: int) -> JSONResponse:
    """A page of a search with LangGraph's pagination headers: ``X-Pagination-Next``, the
    next page's offset while there is one (``following``), and ``X-Pagination-Total``."""
    if following is None:
        headers = {"X-Pagination-Total": str(offset + len(found))}
    else:
        headers = {"X-Pagination-Total": str(following + 1), "X-Pagination-Next": str(following)}
    return JSONResponse(found, headers=headers)


def error_response(status: int, error: str, message: str) -> JSONResponse:
    body = {"detail": message, "error": error, "message": message}
    return JSONResponse(body, status_code=status)


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    error: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer a request with :func:`error_response`; a WebSocket handshake too, before
    it is accepted (the SDK does not retry a 4xx), or, on an ASGI server that cannot
    send a response to a handshake, with a close (which the server sends as a 403)."""
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
        "extensions", {}
    ):
        await send({"type": "websocket.close", "code": 4000 + status, "reason": message[:120]})
        return
    response = error_response(status, error, message)
    response.headers.update(headers or {})
    await response(scope, receive, send)


def event_stream_response(stream: EventStream, settings: ServerSettings) -> EventSource:
    """Send a run's :class:`EventStream` as server-sent events, with heartbeats."""
    return EventSource(
        stream.frames,
        ping=settings.heartbeat_seconds,
        send_timeout=settings.send_timeout_seconds,
        headers={"Location": f"{stream.location}/stream", "Content-Location": stream.location},
    )


def status_of(exc: ScopegraphError) -> tuple[int, str]:
    """(HTTP status, error name) of a domain error or an engine error."""
    if isinstance(exc, AccessError):  # custom auth: the status its handler chose
        return exc.status, exc.code
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status, exc.code if isinstance(exc, ServerError) else "NotFound"
    if isinstance(exc, ConnectionError | StoreError):
        # a lost database or Redis connection (the saver's, the queue's, the store's), or
        # a store that refused a write: the operation fails, the server keeps serving
        return 503, "ServiceUnavailable"
    if isinstance(exc, ServerError):
        return 500, exc.code
    return (409 if isinstance(exc, CheckpointError) else 422), type(exc).__name__


def _incident(request: Request, exc: BaseException, status: int, name: str) -> Response:
    """A failure whose own words stay in the server's log (a database's error text can
    show its schema, paths or addresses): the client gets a request id to quote."""
    request_id = current_request_id() or uuid.uuid4().hex[:16]
    log.warning(
        "request %s: %s %s failed: %s: %s",
        request_id,
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
        exc_info=status >= 500 and status != 503,
    )
    if status == 503:
        message = "a service the server needs (its database or Redis) failed; try again shortly"
    else:
        message = "the server failed to answer this request"
    message += f" (request id {request_id}: the server's log has the details)"
    response = error_response(status, name, message)
    response.headers["X-Request-Id"] = request_id
    return response


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScopegraphError)
    status, name = status_of(exc)
    if status >= 500 and (exc.__cause__ is not None or not isinstance(exc, ServerError)):
        return _incident(request, exc, status, name)  # a dependency's failure, in its words
    response = error_response(status, name, str(exc))
    if isinstance(exc, AccessError):
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    return _incident(request, exc, 500, "InternalServerError")


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        # 422 as LangGraph's server answers it
        return error_response(422, "InvalidJSON", "the request body is not valid JSON")
    parts = []
    for e in errors[:5]:
        if e.get("type") == "unstorable":  # the message names the value's path
            parts.append(str(e.get("msg")))
            continue
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {e.get('msg')}")
    return error_response(422, "ValidationError", "; ".join(parts))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed"}
    return error_response(exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    """Errors as JSON responses with the status :func:`status_of` gives them; a failure
    of a dependency (a database, Redis) or of the server itself is logged with a request
    id, and the response names that id rather than the failure's own text."""
    app.add_exception_handler(ScopegraphError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
