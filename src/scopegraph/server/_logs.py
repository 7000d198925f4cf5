"""Structured logs: one JSON object per line (``scopegraph serve --log-format json``).

Every line carries ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, plus,
when there are any, the ids of what the line is about, from context variables:

- ``run_id`` and ``thread_id`` on every line emitted while a run executes (the server's
  own lines and those of the graph's nodes, which run in the run's task), and on the
  lines of a request about one run or thread (its path names them);
- ``request_id`` on every line of a request, the access log's line included: the
  request's ``X-Request-ID`` header, else a new id; the response carries it back in
  ``X-Request-ID``.

An exception's traceback goes under ``exception``; ``extra={...}`` fields of a log call are
kept as fields of the line.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = (
    "LOG_FORMATS",
    "JsonFormatter",
    "RequestIdMiddleware",
    "bind_run",
    "current_request_id",
    "use_json_logs",
)

LOG_FORMATS = ("text", "json")

_run: contextvars.ContextVar[tuple[str | None, str | None] | None] = contextvars.ContextVar(
    "scopegraph_log_run", default=None
)
_request: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "scopegraph_log_request", default=None
)
_PATH_IDS = re.compile(r"^/threads/([^/]+)(?:/runs/([^/]+))?")
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's coloured copy of the message
}


def current_request_id() -> str | None:
    """The id of the request being handled (with ``log_format="json"``), or None."""
    return _request.get()


def bind_run(run_id: str, thread_id: str | None) -> contextvars.Token[Any]:
    """Put ``run_id`` and ``thread_id`` on the lines logged from now on in this task (and
    the tasks it starts)."""
    return _run.set((run_id, thread_id))


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON; see the module docstring."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = _run.get()
        if ids is not None:
            run_id, thread_id = ids
            if run_id is not None:
                line["run_id"] = run_id
            if thread_id is not None:
                line["thread_id"] = thread_id
        request_id = _request.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def use_json_logs(level: str = "info") -> dict[str, Any]:
    """Send every log line (the root logger's, uvicorn's) to stderr as JSON; returns the
    ``log_config`` to give uvicorn so that it keeps this."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


class RequestIdMiddleware:
    """ASGI middleware: the request's id (``X-Request-ID``, or a new one) and the run or
    thread its path names, on every line logged while it is handled; the id goes back
    in the response's ``X-Request-ID`` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")[:200]
                break
        request_id = given or uuid.uuid4().hex
        token = _request.set(request_id)
        match = _PATH_IDS.match(scope.get("path", ""))
        run_token = None
        if match is not None:
            run_token = _run.set((match[2], match[1]))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if run_token is not None:
                _run.reset(run_token)
            _request.reset(token)
