"""What a handler gets from the app: its backend and its settings (set by ``create_app``).

Handlers take the ``Request`` and ask here, rather than declaring FastAPI dependencies:
FastAPI resolves a ``Depends`` on every request, which costs more per run than the rest
of the route (``make bench-server`` measures it)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from starlette.requests import HTTPConnection

from .._auth import CONTEXT_KEY, Access, Searched
from .._domain import Backend
from .._models import RunCreate
from .._settings import ServerSettings

__all__ = (
    "access_of",
    "authorize",
    "authorize_run",
    "authorized_run",
    "backend_of",
    "searched",
    "settings_of",
)


def backend_of(request: HTTPConnection) -> Backend:
    """The app's backend (``app.state.backend``)."""
    backend: Backend = request.app.state.backend
    return backend


def settings_of(request: HTTPConnection) -> ServerSettings:
    """The app's settings (``app.state.settings``)."""
    settings: ServerSettings = request.app.state.settings
    return settings


def access_of(request: HTTPConnection) -> Access | None:
    """The request's authorization (custom auth's handlers and its user), or None when
    the app has no custom auth: then nothing is checked."""
    auth = request.app.state.auth
    if auth is None:
        return None
    return Access(auth, request.scope[CONTEXT_KEY])


async def searched(
    request: Request,
    resource: str,
    metadata: dict[str, Any] | None,
    *,
    action: str = "search",
    **value: Any,
) -> Searched:
    """A search's (or count's) metadata filter: as given without custom auth; else after
    the ``<resource>.<action>`` handler, with its filter folded in (:data:`NOTHING`: the
    user can find nothing). ``value``: the rest of what the handler is shown."""
    access = access_of(request)
    if access is None:
        return metadata
    value = {**value, "metadata": dict(metadata or {})}
    return await access.search(resource, value, action=action)


async def authorize(
    request: HTTPConnection,
    resource: Literal["threads", "assistants", "crons"],
    record_id: str,
    action: str,
) -> None:
    """Custom auth, when the app has it: ``action`` on the thread (a run's is its
    thread's), assistant or cron (404 if it is not the user's to see)."""
    access = access_of(request)
    if access is not None:
        await access.on(backend_of(request), resource, record_id, action)


async def authorize_run(request: Request, thread_id: str, run_id: str, action: str) -> None:
    """Custom auth, when the app has it: ``action`` on the run (its thread's filter; 404
    if it is not the user's to see)."""
    access = access_of(request)
    if access is not None:
        await access.on_run(backend_of(request), thread_id, run_id, action)


async def authorized_run(
    request: HTTPConnection, backend: Backend, thread_id: str | None, body: RunCreate
) -> RunCreate:
    """The run as custom auth lets it be created (the body unchanged without it)."""
    access = access_of(request)
    if access is None:
        return body
    return await access.run(backend, thread_id, body)
