"""``/threads/{thread_id}/commands`` and ``/threads/{thread_id}/stream/events``: LangGraph's
thread-centric streaming protocol (the SDK's ``threads.stream``; :mod:`.._protocol`)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response

from .._domain import EventStream, RunRecord
from .._errors import BadRequestError
from .._graphs import check_id
from .._http import JSONResponse, event_stream_response
from .._models import RunCreate
from .._protocol import (
    WEBSOCKET_REFUSED,
    error_response,
    event_filter,
    handle_command,
    thread_events,
)
from ._deps import authorize, authorized_run, backend_of, settings_of

__all__ = ("router",)

router = APIRouter(prefix="/threads", default_response_class=JSONResponse)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise BadRequestError("the request body is not valid JSON") from None


@router.post("/{thread_id}/commands")
async def thread_command(thread_id: str, request: Request) -> Response:
    """One protocol command (:func:`scopegraph.server._protocol.handle_command`)."""
    tid = check_id(thread_id, "thread_id")
    payload = await _json(request)
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("id"), int)
        or isinstance(payload.get("id"), bool)
        or not isinstance(payload.get("method"), str)
    ):
        command_id = payload.get("id") if isinstance(payload, dict) else None
        message = "Protocol commands must include an integer id and string method."
        return JSONResponse(error_response(command_id, "invalid_argument", message), 400)
    backend = backend_of(request)

    async def create(body: RunCreate) -> RunRecord:
        return await backend.create_run(tid, await authorized_run(request, backend, tid, body))

    return JSONResponse(await handle_command(backend, tid, payload, create))


@router.post("/{thread_id}/stream/events")
async def thread_events_stream(thread_id: str, request: Request) -> Response:
    """The thread's protocol events (:func:`scopegraph.server._protocol.thread_events`)."""
    tid = check_id(thread_id, "thread_id")
    wanted = event_filter(await _json(request))
    backend = backend_of(request)
    if request.app.state.auth is not None:  # custom auth: the user may read the thread
        await authorize(request, "threads", tid, "read")
    frames = thread_events(backend, tid, wanted)
    return event_stream_response(EventStream(frames, f"/threads/{tid}"), settings_of(request))


@router.websocket("/{thread_id}/stream/events")
async def thread_events_socket(thread_id: str, websocket: WebSocket) -> None:
    """The protocol's WebSocket transport is not served: the socket is told so (an
    unsolicited protocol error, which the SDK raises) and closed with 4422, the code
    the SDK reads as "a 422: do not retry"."""
    await websocket.accept()
    await websocket.send_json(error_response(None, "not_supported", WEBSOCKET_REFUSED))
    await websocket.close(code=4422, reason="use the SSE transport")
