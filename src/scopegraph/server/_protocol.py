"""LangGraph's thread-centric streaming protocol (its "v3" streaming; the SDK's
``client.threads.stream``): commands at ``POST /threads/{thread_id}/commands`` and a
thread's events at ``POST /threads/{thread_id}/stream/events``.

As LangGraph's server:

- **Commands** (``{"id", "method", "params"}`` → ``{"type": "success", "id", "result",
  "meta"}`` or ``{"type": "error", "id", "error", "message"}``). ``run.start`` creates a
  run on the thread (the thread is created with it if it does not exist: the SDK mints
  its id) through the same path as ``POST /threads/{thread_id}/runs`` (custom auth,
  multitask strategy: the params' ``multitaskStrategy``, ``enqueue`` without it);
  ``input.respond`` resumes the thread's interrupted run
  (``Command(resume={interrupt_id: response})``, with ``update`` and ``goto``);
  ``subscription.subscribe`` / ``unsubscribe`` / ``reconnect`` and ``agent.getTree``
  answer as LangGraph's server answers them over HTTP, where no run is bound to the
  request (subscriptions live in the events request's body). Any other method (the
  JS SDK's ``state.*``, ``input.inject``) gets ``unknown_command`` naming it.
- **Events**: the thread's runs, oldest first, each as
  :class:`~scopegraph.server._protocol_events.RunEvents` makes its events, filtered by
  the subscription's ``channels``, ``namespaces`` and ``depth``; ``since`` (a ``seq``)
  skips what the client has seen. The stream follows the thread's new runs until the
  client leaves or the server drains; leaving does not cancel a run (runs started by
  ``run.start`` run in the background, as LangGraph's do). Two transports send the same
  event dicts (:func:`thread_events`): SSE (the subscription is the request's body, one
  event a frame) and WebSocket (the subscription is the socket's first message, a
  ``subscription.subscribe`` command; one event a text message).

How runs are followed, with what both backends offer: the thread's runs are listed every
``POLL`` seconds (:func:`._thread_stream.new_runs`, as the thread's own stream does), and
each run not seen yet is read from the start of its event log
(``Last-Event-ID: -1``: runs made here are resumable, so their whole log is kept for the
server's ``resumable_ttl`` after they end), then its record gives its end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

from ._domain import TERMINAL, Backend, RunRecord
from ._errors import BadRequestError, NotFoundError, ServerError
from ._models import RunCreate
from ._protocol_events import RunEvents, parse_frames
from ._thread_stream import new_runs
from ._wire import dumps, sse_frame

__all__ = (
    "EventFilter",
    "error_response",
    "event_filter",
    "handle_command",
    "socket_subscription",
    "sse_frames",
    "subscribed",
    "thread_events",
)

CHANNELS = frozenset(
    {"values", "updates", "checkpoints", "messages", "tools", "custom"}
    | {"lifecycle", "input", "tasks"}
)
RUN_STREAM_MODES = ["values", "updates", "messages-tuple", "tools", "custom", "tasks"]
RUN_STREAM_MODES += ["checkpoints"]
"""The stream modes of a run made by ``run.start`` (what its events are made from)."""
_METHOD_CHANNEL = {"input.requested": "input"}
_KNOWN = frozenset(
    {
        "run.start",
        "input.respond",
        "agent.getTree",
        "subscription.subscribe",
        "subscription.unsubscribe",
        "subscription.reconnect",
    }
)
_MULTITASK = ("reject", "interrupt", "rollback", "enqueue")
_SETTLE = 5.0
"""Seconds ``input.respond`` waits for a thread still busy to show its interrupts."""

CreateRun = Callable[[RunCreate], Awaitable[RunRecord]]
"""Creates a run on the thread as ``POST /threads/{thread_id}/runs`` does (custom auth
included)."""


# -- the events' filter ------------------------------------------------------------------


def _supported(channel: Any) -> bool:
    if not isinstance(channel, str):
        return False
    return channel in CHANNELS or (channel.startswith("custom:") and len(channel) > 7)


@dataclasses.dataclass(frozen=True)
class EventFilter:
    """What an events request asked for (LangGraph's ``EventStreamRequest``)."""

    channels: frozenset[str]
    namespaces: tuple[tuple[str, ...], ...] | None = None
    depth: int | None = None
    since: int | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        method = event["method"]
        channel = _METHOD_CHANNEL.get(method, method)
        params = event["params"]
        if channel == "custom":
            name = params["data"].get("name") if isinstance(params["data"], dict) else None
            if "custom" not in self.channels and f"custom:{name}" not in self.channels:
                return False
        elif channel not in self.channels:
            return False
        if self.since is not None and event["seq"] <= self.since:
            return False
        return self.namespaces is None or any(
            _within(params["namespace"], prefix, self.depth) for prefix in self.namespaces
        )


def _within(namespace: list[str], prefix: tuple[str, ...], depth: int | None) -> bool:
    """LangGraph's namespace match: ``prefix`` starts ``namespace`` (a segment without
    ``:`` also matches ``<segment>:<task id>``), at most ``depth`` levels below it."""
    if len(prefix) > len(namespace):
        return False
    for want, have in zip(prefix, namespace, strict=False):
        if want != have and (":" in want or have.partition(":")[0] != want):
            return False
    return depth is None or len(namespace) - len(prefix) <= depth


def event_filter(body: Any) -> EventFilter:
    """The filter of an events request's body (400 naming what is wrong)."""
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object with `channels`")
    channels = body.get("channels")
    if not isinstance(channels, list) or not channels:
        raise BadRequestError("channels is required and must be a non-empty array")
    bad = [repr(c) if not isinstance(c, str) else c for c in channels if not _supported(c)]
    if bad:
        raise BadRequestError(
            f"channels contains unsupported entries: {', '.join(bad[:5])}. Allowed: "
            f"{', '.join(sorted(CHANNELS))}, or any `custom:<name>`."
        )
    namespaces = body.get("namespaces")
    if namespaces is not None and not (
        isinstance(namespaces, list)
        and all(isinstance(n, list) and all(isinstance(s, str) for s in n) for n in namespaces)
    ):
        raise BadRequestError("namespaces must be an array of namespaces (arrays of strings)")
    return EventFilter(
        frozenset(channels),
        None if not namespaces else tuple(tuple(n) for n in namespaces),
        _count(body, "depth"),
        _count(body, "since"),
    )


def _count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequestError(f"{name} must be an integer >= 0, not {value!r}")
    return value


# -- the events ----------------------------------------------------------------------------


async def thread_events(
    backend: Backend, thread_id: str, wanted: EventFilter
) -> AsyncGenerator[dict[str, Any], None]:
    """The thread's runs' protocol events that ``wanted`` matches (see the module
    docstring), for either transport; it ends when the thread is deleted or the server
    drains (or the client leaves: close it). A thread that does not exist yet is waited
    for (``run.start`` creates it)."""
    counter = [0]
    runs = new_runs(backend, thread_id, wait_for_thread=True)
    async with contextlib.aclosing(runs):
        async for run in runs:
            # closed with this generator (a client that leaves): the run's stream is let go
            async with contextlib.aclosing(_run_events(backend, thread_id, run, counter)) as events:
                async for event in events:
                    if wanted.matches(event):
                        yield event


async def sse_frames(events: AsyncGenerator[dict[str, Any], None]) -> AsyncIterator[bytes]:
    """The SSE transport's frames of :func:`thread_events` (closing it when closed)."""
    async with contextlib.aclosing(events):
        async for event in events:
            yield sse_frame(event["method"], dumps(event), event["seq"])


async def _run_events(
    backend: Backend, thread_id: str, run: RunRecord, counter: list[int]
) -> AsyncGenerator[dict[str, Any], None]:
    run_id = str(run["run_id"])
    graph_name = str((run.get("metadata") or {}).get("graph_id") or run["assistant_id"])
    events = RunEvents(run_id, graph_name, counter)
    for event in events.started():
        yield event
    try:
        stream = await backend.join_stream(
            thread_id, run_id, cancel_on_disconnect=False, modes=None, last_event_id="-1"
        )
    except NotFoundError:
        return  # deleted meanwhile
    try:
        async for chunk in stream.frames:
            for name, data, frame_id in parse_frames(chunk):
                for event in events.frame(name, data, frame_id):
                    yield event
    finally:  # the run's stream lets go of what it holds; the run goes on
        close = getattr(stream.frames, "aclose", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await close()
    try:
        record = await backend.get_run(thread_id, run_id)
    except NotFoundError:
        return
    if record["status"] in TERMINAL:
        for event in events.ended(record["status"]):
            yield event


# -- the commands ----------------------------------------------------------------------------


class ProtocolError(Exception):
    """A command's protocol error (``error``: the protocol's error code)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def _success(command_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    meta = {"applied_through_seq": 0}  # a command request sees no event (LangGraph's too)
    return {"type": "success", "id": command_id, "result": result, "meta": meta}


def error_response(command_id: Any, error: str, message: str) -> dict[str, Any]:
    return {"type": "error", "id": command_id, "error": error, "message": message}


def socket_subscription(command: Any) -> EventFilter:
    """The filter of a WebSocket's first message, which must be a
    ``subscription.subscribe`` command (BadRequestError naming what is wrong)."""
    command_id = command.get("id") if isinstance(command, dict) else None
    if (
        not isinstance(command, dict)
        or command.get("method") != "subscription.subscribe"
        or not isinstance(command_id, int)
        or isinstance(command_id, bool)
    ):
        raise BadRequestError(
            'the first message must be a subscription.subscribe command: {"id": <integer>, '
            '"method": "subscription.subscribe", "params": {"channels": [...]}}'
        )
    return event_filter(command.get("params"))


def subscribed(command_id: Any) -> dict[str, Any]:
    """The response to a socket's ``subscription.subscribe``."""
    return _success(command_id, {"subscription_id": str(uuid.uuid4()), "replayed_events": 0})


async def handle_command(
    backend: Backend, thread_id: str, command: dict[str, Any], create: CreateRun
) -> dict[str, Any]:
    """The response to one command (its ``id`` and ``method`` checked by the caller)."""
    command_id, method = command["id"], command["method"]
    params = command.get("params")
    params = params if isinstance(params, dict) else {}
    if method not in _KNOWN:
        return error_response(command_id, "unknown_command", f"Unknown protocol command: {method}")
    try:
        if method == "run.start":
            return _success(command_id, await _run_start(params, create))
        if method == "input.respond":
            return _success(command_id, await _input_respond(backend, thread_id, params, create))
        return _success(command_id, _unbound(method, params))
    except ProtocolError as exc:
        return error_response(command_id, exc.error, str(exc))
    except ServerError as exc:  # the run could not be made: LangGraph's unknown_error
        return error_response(command_id, "unknown_error", str(exc))


def _unbound(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """``subscription.*`` and ``agent.getTree`` over HTTP, as LangGraph's server answers
    them: no run is bound to a command request, and a subscription lives in the body of
    an events request (``subscribe`` returns an id that stands for nothing else)."""
    if method == "subscription.subscribe":
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels:
            raise ProtocolError(
                "invalid_argument", "subscription.subscribe requires a non-empty channels array."
            )
        if not all(_supported(c) for c in channels):
            raise ProtocolError(
                "invalid_argument", "subscription.subscribe received an unsupported channel."
            )
        return {"subscription_id": str(uuid.uuid4()), "replayed_events": 0}
    if method == "subscription.unsubscribe":
        subscription_id = params.get("subscription_id")
        if not isinstance(subscription_id, str):
            raise ProtocolError(
                "invalid_argument", "subscription.unsubscribe requires a subscription_id."
            )
        raise ProtocolError("no_such_subscription", f"Unknown subscription: {subscription_id}")
    raise ProtocolError("no_such_run", "No active run is bound to this thread.")


def _strategy(params: dict[str, Any]) -> str:
    strategy = params.get("multitaskStrategy")
    if strategy is None:
        return "enqueue"
    if strategy not in _MULTITASK:
        message = f"multitaskStrategy must be one of {list(_MULTITASK)}, not {strategy!r}"
        raise ProtocolError("invalid_argument", message)
    return str(strategy)


def _run_body(assistant_id: str, params: dict[str, Any], **fields: Any) -> RunCreate:
    config = params.get("config")
    if config is not None and not isinstance(config, dict):
        raise ProtocolError("invalid_argument", "config must be an object.")
    metadata = params.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ProtocolError("invalid_argument", "metadata must be an object.")
    checkpoint_id = ((config or {}).get("configurable") or {}).get("checkpoint_id")
    if checkpoint_id is not None and not (isinstance(checkpoint_id, str) and checkpoint_id):
        raise ProtocolError(
            "invalid_argument", "config.configurable.checkpoint_id must be a non-empty string."
        )
    if params.get("langsmith_tracer") is not None:
        raise ProtocolError(
            "not_supported", "langsmith_tracer is not supported by this server (no LangSmith)."
        )
    try:
        return RunCreate.model_validate(
            {
                "assistant_id": assistant_id,
                "config": config,
                "metadata": metadata,
                "checkpoint_id": checkpoint_id,
                "stream_mode": RUN_STREAM_MODES,
                "stream_subgraphs": True,
                "stream_resumable": True,
                "on_completion": "keep",
                "if_not_exists": "create",
                "multitask_strategy": _strategy(params),
                **fields,
            }
        )
    except ValueError as exc:
        raise ProtocolError("invalid_argument", str(exc)) from None


async def _run_start(params: dict[str, Any], create: CreateRun) -> dict[str, Any]:
    assistant_id = params.get("assistant_id")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise ProtocolError("invalid_argument", "run.start requires an assistant_id.")
    graph_input = params.get("input")
    if graph_input is not None and not isinstance(graph_input, dict):
        raise ProtocolError("invalid_argument", "run.start's input must be an object (or null).")
    run = await create(_run_body(assistant_id, params, input=graph_input))
    return {"run_id": str(run["run_id"])}


def _responses(params: dict[str, Any]) -> dict[str, Any]:
    """``{interrupt_id: response}`` of ``input.respond`` (one, or ``responses``)."""
    entries = params.get("responses")
    if entries is None:
        entries = [params]
    elif not isinstance(entries, list) or not entries:
        raise ProtocolError("invalid_argument", "input.respond requires at least one response.")
    out: dict[str, Any] = {}
    for entry in entries:
        interrupt_id = entry.get("interrupt_id") if isinstance(entry, dict) else None
        if not isinstance(interrupt_id, str):
            raise ProtocolError("invalid_argument", "input.respond requires an interrupt_id.")
        namespace = entry.get("namespace", [])
        if not (isinstance(namespace, list) and all(isinstance(s, str) for s in namespace)):
            raise ProtocolError(
                "invalid_argument", "input.respond requires namespace to be a list of strings."
            )
        out[interrupt_id] = entry.get("response")
    return out


async def _pending(backend: Backend, thread_id: str) -> tuple[set[str], dict[str, Any]]:
    """The thread's pending interrupt ids and its record; while a run of the thread is
    still ending (busy, no interrupt yet), waits up to :data:`_SETTLE` seconds."""
    with anyio.move_on_after(_SETTLE):
        while True:
            thread = await backend.thread(thread_id)
            shown = await backend.graphs.thread_values(thread)
            ids = {i["id"] for entries in (shown.get("interrupts") or {}).values() for i in entries}
            if ids or not backend.thread_busy(thread):
                return ids, thread
            await anyio.sleep(0.05)
    return set(), thread


async def _input_respond(
    backend: Backend, thread_id: str, params: dict[str, Any], create: CreateRun
) -> dict[str, Any]:
    resume = _responses(params)
    try:
        pending, thread = await _pending(backend, thread_id)
    except NotFoundError:
        raise ProtocolError("no_such_run", "No interrupted run is bound to this thread.") from None
    for interrupt_id in resume:
        if interrupt_id not in pending:
            raise ProtocolError(
                "no_such_interrupt", f"Unknown or already-consumed interrupt: {interrupt_id}"
            )
    assistant_id = (thread.get("metadata") or {}).get("assistant_id")
    if not isinstance(assistant_id, str):
        raise ProtocolError("no_such_run", "No interrupted run is bound to this thread.")
    command: dict[str, Any] = {"resume": resume}
    for name in ("update", "goto"):
        if params.get(name) is not None:
            command[name] = params[name]
    await create(_run_body(assistant_id, params, command=command))
    return {}
