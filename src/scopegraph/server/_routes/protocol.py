"""``/threads/{thread_id}/commands`` and ``/threads/{thread_id}/stream/events``: LangGraph's
thread-centric streaming protocol (the SDK's ``threads.stream``; :mod:`.._protocol`)."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import anyio
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected

from .._domain import Backend, EventStream, RunRecord
from .._errors import BadRequestError, ServerError
from .._graphs import check_id
from .._http import JSONResponse, event_stream_response, refuse, status_of
from .._models import RunCreate
from .._protocol import (
    CreateRun,
    EventFilter,
    error_response,
    event_filter,
    handle_command,
    socket_subscription,
    sse_frames,
    subscribed,
    thread_events,
)
from .._wire import dumps
from ._deps import authorize, authorized_run, backend_of, settings_of

__all__ = ("router",)

router = APIRouter(prefix="/threads", default_response_class=JSONResponse)
log = logging.getLogger("scopegraph.server")

_CLOSE_SECONDS = 5.0
"""How long the server waits to close a socket whose events ended."""


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
    frames = sse_frames(thread_events(backend, tid, wanted))
    return event_stream_response(EventStream(frames, f"/threads/{tid}"), settings_of(request))


@router.websocket("/{thread_id}/stream/events")
async def thread_events_socket(thread_id: str, websocket: WebSocket) -> None:
    """The WebSocket transport of the thread's events, as LangGraph's server serves it:
    the socket's first message subscribes (``subscription.subscribe``, the SSE body as its
    params), then each event is a JSON text message; later messages are commands (as
    ``POST /commands``). The guard and custom auth checked the handshake (API key, host,
    origin, user); the user must also be allowed to read the thread."""
    try:
        tid = check_id(thread_id, "thread_id")
        await authorize(websocket, "threads", tid, "read")
    except ServerError as exc:  # refused before the socket is accepted: an HTTP error
        status, name = status_of(exc)
        await refuse(websocket.scope, websocket.receive, websocket.send, status, name, str(exc))
        return
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):  # the client left
        subscription = await _subscription(websocket)
        if subscription is not None:
            await _serve_socket(websocket, tid, *subscription)


async def _receive(websocket: WebSocket) -> str:
    """The client's next message (text, or bytes of UTF-8)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
    return str(text)


async def _subscription(websocket: WebSocket) -> tuple[int, EventFilter] | None:
    """The socket's first message, a ``subscription.subscribe`` command validated as
    the SSE body is; None when it is not one: the client gets the protocol's error and
    the socket closes with 4400 (a 400: the SDK does not retry it)."""
    raw = await _receive(websocket)
    command: Any = None
    try:
        if len(raw) > settings_of(websocket).max_body_bytes:
            raise BadRequestError("the subscribe message is larger than the server's body limit")
        try:
            command = json.loads(raw)
        except ValueError:
            raise BadRequestError("the subscribe message is not valid JSON") from None
        wanted = socket_subscription(command)
    except BadRequestError as exc:
        command_id = command.get("id") if isinstance(command, dict) else None
        await websocket.send_text(
            dumps(error_response(command_id, "invalid_argument", str(exc))).decode()
        )
        await websocket.close(code=4400, reason=_reason(str(exc)))
        return None
    return command["id"], wanted


def _reason(message: str) -> str:
    """A close reason: at most 123 bytes of UTF-8."""
    return message.encode()[:123].decode(errors="ignore")


async def _serve_socket(
    websocket: WebSocket, tid: str, command_id: int, wanted: EventFilter
) -> None:
    """Send the thread's events and answer the client's commands until either side ends:
    the client's close ends the events (not the runs); the end of the events (the thread
    deleted, the server draining) closes the socket with 1011 as LangGraph's server does,
    which the SDK reconnects after."""
    backend = backend_of(websocket)
    lock = anyio.Lock()

    async def send(payload: Any) -> None:
        async with lock:
            await websocket.send_text(dumps(payload).decode())

    async def create(body: RunCreate) -> RunRecord:
        return await backend.create_run(tid, await authorized_run(websocket, backend, tid, body))

    async def end(scope: anyio.CancelScope) -> None:
        scope.cancel()
        # shielded, bounded: a client that reads nothing cannot keep the socket open
        with anyio.move_on_after(_CLOSE_SECONDS, shield=True), contextlib.suppress(Exception):
            async with lock:
                await websocket.close(code=1011, reason="thread stream ended")

    async def events(scope: anyio.CancelScope) -> None:
        try:
            async with contextlib.aclosing(thread_events(backend, tid, wanted)) as stream:
                async for event in stream:
                    await send(event)
        except (WebSocketDisconnect, WebSocketDisconnected):
            scope.cancel()  # the client left: ``commands`` sees it too
            return
        except Exception:  # a failed read: the SDK reconnects after a 1011
            log.exception("the thread's events failed; closing the socket")
        await end(scope)

    async def commands(scope: anyio.CancelScope) -> None:
        try:
            while True:
                await send(await _answer(websocket, backend, tid, create))
        except (WebSocketDisconnect, WebSocketDisconnected):
            scope.cancel()  # the client left: the events stop, its runs go on
        except Exception:
            log.exception("a command on the socket failed; closing it")
            await end(scope)

    await send(subscribed(command_id))
    async with anyio.create_task_group() as tg:
        tg.start_soon(events, tg.cancel_scope)
        tg.start_soon(commands, tg.cancel_scope)


async def _answer(
    websocket: WebSocket, backend: Backend, tid: str, create: CreateRun
) -> dict[str, Any]:
    """The response to the client's next message, a command (LangGraph's answers; one
    subscription a socket: open another socket for another)."""
    raw = await _receive(websocket)
    try:
        command = json.loads(raw)
    except ValueError:
        return error_response(None, "invalid_argument", "Protocol commands must be valid JSON.")
    command_id = command.get("id") if isinstance(command, dict) else None
    if (
        not isinstance(command, dict)
        or not isinstance(command_id, int)
        or isinstance(command_id, bool)
        or not isinstance(command.get("method"), str)
    ):
        message = "Protocol commands must include an integer id and string method."
        return error_response(command_id, "invalid_argument", message)
    if command["method"].startswith("subscription."):
        message = (
            "this server serves one subscription a WebSocket, its first message: open "
            "another socket (or an SSE stream) for another"
        )
        return error_response(command_id, "not_supported", message)
    return await handle_command(backend, tid, command, create)
