"""The run executor: how one run of a graph executes and ends, wherever it runs.

Both the in-process run manager (:mod:`scopegraph.server.local`) and the scale-out
worker (:mod:`scopegraph.server.cluster`) execute a run with these three steps:

1. :func:`start_clock` sets the run's deadline on its cancel scope (its ``timeout``, else
   the server's ``run_timeout``);
2. :func:`stream` runs the graph inside the run's cancel scope (``graph.open_stream``,
   or ``open_event_stream`` for ``events``), handing each chunk to ``emit`` under its
   server event name, and returns the final ``values``. A cancellation cancels that scope
   once: ``open_stream`` returns only after every node's shielded cleanup completed and
   the last completed step's checkpoint is stored;
3. :func:`settle`, shielded, decides what the run came to (:class:`Outcome`): its status
   (``success``, ``error``, ``timeout``, ``interrupted``), its lifecycle entries (``timed
   out``, ``cleanup finished``, ``checkpoint saved``, ``rolled back``), a rollback (only the
   checkpoints the run itself wrote are removed), its final values (what ``join`` and
   ``wait`` return), the deletion of a stateless run's thread, and the stream's last
   event.

Where the run is recorded (a document, a queue row) and how its events travel (an
in-memory log, Redis) is the caller's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio

from ..checkpoint import BaseCheckpointSaver, CheckpointTuple
from ._auth_user import restore_user
from ._domain import CancelAction
from ._graphs import command_of, is_factory, open_graph

__all__ = (
    "Outcome",
    "RunSpec",
    "cleanup_seconds",
    "restore_thread",
    "rollback_run",
    "run_arguments",
    "failed",
    "settle",
    "start_clock",
    "stream",
    "stream_run",
    "unstored_error",
)

Emit = Callable[[str, Any], Awaitable[None]]
OnTask = Callable[[tuple[str, ...], Any], None]
"""Told each chunk of the run's ``tasks`` stream (a node's start, its result), with its
namespace (``()``: the top graph; ``("sub:<task id>", ...)``: a subgraph's): tracing."""

RUN_TIMEOUT = {
    "error": "RunTimeout",
    "message": "the run took longer than its timeout: it was cancelled, its "
    "cleanup finished and its checkpoint is saved",
}
SHUTTING_DOWN = {
    "error": "ServerShuttingDown",
    "message": "the server is shutting down: the run was cancelled, its "
    "cleanup finished and its checkpoint is saved; resume it with "
    "input=None on the same thread",
}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run to execute: its ids, its graph and its request (``payload``: the fields of
    :class:`~scopegraph.server._models.RunCreate`)."""

    run_id: str
    thread_id: str
    graph_id: str
    assistant_id: str | None
    graph: Any
    payload: Mapping[str, Any]
    temporary: bool = False
    """A stateless run (``/runs/...``): its thread is deleted at the end unless
    ``on_completion='keep'``."""
    stateless: bool = False
    """Run without any checkpointer (nothing of the run is kept)."""
    resume: bool = False
    """Taken over from another worker: continue from the thread's last checkpoint."""
    durability: str | None = None
    """The default durability (a run's own ``durability`` overrides it)."""
    made: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)
    """A graph factory's graph for this run (``"graph"``), once :func:`stream` made it:
    :func:`settle` reads the run's end state through it."""

    @property
    def saver(self) -> Any:
        """The checkpointer of the run's thread (None: it keeps no state)."""
        return None if self.stateless else self.graph.checkpointer


@dataclasses.dataclass
class Outcome:
    """What a run came to; see :func:`settle`."""

    status: str
    error: dict[str, str] | None
    """The failure of a run that raised (``{"error": type, "message": ...}``)."""
    event: tuple[str, Any]
    """The stream's last event: ``("end", None)`` or ``("error", {...})``."""
    final: Any
    """The final values ``join`` and ``wait`` return."""
    lifecycle: list[str]
    checkpoint_id: str | None = None
    """The checkpoint the run was cancelled at (``interrupted`` or ``timeout``)."""
    interrupted: bool = False
    """The thread is left interrupted (it has next nodes or interrupts)."""
    rolled_back: bool = False


def run_arguments(
    graph: Any, payload: Mapping[str, Any], *, thread_id: str, metadata: Mapping[str, Any]
) -> tuple[Any, Any, dict[str, Any], list[str]]:
    """(input, config, options, stream modes) of a run, from its request body: the
    config selects the thread (and ``checkpoint_id``), ``command`` replaces the input,
    and ``"*"`` in ``interrupt_before/after`` means every node."""
    user_config = dict(payload.get("config") or {})
    configurable = {**(user_config.get("configurable") or {}), "thread_id": thread_id}
    if "langgraph_auth_user" in configurable:  # custom auth's user, stored as JSON
        configurable = restore_user(configurable)
    checkpoint_id = payload.get("checkpoint_id") or (payload.get("checkpoint") or {}).get(
        "checkpoint_id"
    )
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    config: Any = {
        **user_config,
        "configurable": configurable,
        "metadata": {**(user_config.get("metadata") or {}), **metadata},
    }
    command = payload.get("command")
    graph_input: Any = command_of(command) if command else payload.get("input")
    options: dict[str, Any] = {}
    if payload.get("context") is not None:
        options["context"] = payload["context"]
    for key in ("interrupt_before", "interrupt_after", "durability"):
        if payload.get(key) is not None:
            value = payload[key]
            options[key] = list(graph.nodes) if value == "*" else value
    modes = payload.get("stream_mode") or ["values"]
    modes = [modes] if isinstance(modes, str) else list(modes)
    return graph_input, config, options, modes


async def stream_run(
    graph: Any,
    graph_input: Any,
    config: Any,
    options: Mapping[str, Any],
    modes: Sequence[str],
    *,
    subgraphs: bool,
    emit: Emit,
    on_task: OnTask | None = None,
) -> Any:
    """Run the graph and ``emit(event, chunk)`` each chunk under its server event name
    (``<mode>`` or ``<mode>|<namespace>``; ``events`` for astream_events); return the
    final values. ``"messages-tuple"`` is the server's name of the in-process
    ``"messages"`` mode: its events are called ``messages``; the server's own
    ``"messages"`` mode sends LangGraph's ``messages/metadata``, ``messages/partial`` and
    ``messages/complete`` events (:class:`ServerMessages`). ``on_task``: told the
    chunks of the ``tasks`` mode, the subgraphs' too (asked for only then: the subgraphs'
    chunks the client did not ask for are not sent)."""
    if "events" in modes:
        return await _stream_events(graph, graph_input, config, options, modes, emit, on_task)
    values: Any = None
    wanted, server_messages, tuples = _modes(modes)
    requested = wanted | {"values"} if on_task is None else wanted | {"values", "tasks"}
    nested = subgraphs or on_task is not None
    async with graph.open_stream(
        graph_input,
        config,
        stream_mode=sorted(requested),
        subgraphs=nested,
        **options,
    ) as chunks:
        async for item in chunks:
            if nested:
                ns, mode, chunk = item
            else:
                (mode, chunk), ns = item, ()
            if mode == "tasks" and on_task is not None:
                on_task(ns, chunk)
            if not ns and mode == "values":
                values = chunk
            if ns and not subgraphs:
                continue  # streamed for tracing only
            if mode in wanted:
                if mode == "messages" and server_messages is not None:
                    for event, data in server_messages.events(chunk):
                        await emit(event, data)
                    if not tuples:
                        continue
                await emit("|".join((mode, *ns)), chunk)
    return values


def _modes(modes: Sequence[str]) -> tuple[set[str], ServerMessages | None, bool]:
    """(the in-process stream modes a run needs, the converter of the server's
    ``messages`` mode if it was asked for, whether ``messages-tuple`` was). Both message
    modes need the in-process ``messages`` mode. ``lifecycle`` is taken and sends
    nothing, as on LangGraph's server, whose graphs (LangGraph 1.2) stream nothing in it."""
    wanted = {"messages" if m == "messages-tuple" else m for m in modes if m != "lifecycle"}
    if "messages" not in modes:  # the common case: as before the server's messages mode
        return wanted, None, True
    return wanted, ServerMessages(), "messages-tuple" in modes


class ServerMessages:
    """LangGraph's server ``messages`` stream mode, made from the in-process
    ``messages`` chunks (``(message, metadata)``): the first time a message id is seen,
    ``messages/metadata`` (``{id: {"metadata": ...}}``); then for a chunk
    ``messages/partial`` with the message so far (the chunks of that id added up), for a
    whole message ``messages/complete`` with it."""

    def __init__(self) -> None:
        self.seen: dict[Any, Any] = {}

    def events(self, chunk: Any) -> list[tuple[str, Any]]:
        message, metadata = chunk
        out: list[tuple[str, Any]] = []
        if isinstance(message, dict):
            key, partial = message.get("id"), "chunk" in str(message.get("type", "")).lower()
        else:
            key, partial = getattr(message, "id", None), _is_chunk(message)
        earlier = self.seen.get(key)
        if earlier is None:
            out.append(("messages/metadata", {key: {"metadata": metadata}}))
            current = message
        elif partial and _is_chunk(earlier) and not isinstance(message, dict):
            current = earlier + message
        else:
            current = message
        self.seen[key] = current
        if partial:
            out.append(("messages/partial", [current]))
        else:
            out.append(("messages/complete", [_whole(current)]))
        return out


def _is_chunk(message: Any) -> bool:
    return type(message).__name__.endswith("Chunk")


def _whole(message: Any) -> Any:
    """A message that was streamed in chunks, as the whole message (``AIMessage``)."""
    if not _is_chunk(message):
        return message
    from langchain_core.messages import message_chunk_to_message

    return message_chunk_to_message(message)


async def _stream_events(
    graph: Any,
    graph_input: Any,
    config: Any,
    options: Mapping[str, Any],
    modes: Sequence[str],
    emit: Emit,
    on_task: OnTask | None = None,
) -> Any:
    values: Any = None
    wanted, server_messages, tuples = _modes([m for m in modes if m != "events"])
    requested = sorted(wanted) or ["values"]
    if on_task is not None and "tasks" not in requested:
        requested = [*requested, "tasks"]
    async with graph.open_event_stream(
        graph_input, config, stream_mode=requested, **options
    ) as events:
        async for event in events:
            if event["event"] == "on_chain_stream" and not event["parent_ids"]:
                mode, chunk = event["data"]["chunk"]
                if mode == "values":
                    values = chunk
                elif mode == "tasks" and on_task is not None:
                    on_task((), chunk)  # the top graph's only: events name no namespace
                    if mode not in wanted:
                        continue  # asked for tracing only: not the client's event
                await emit("events", event)
                if mode in wanted:
                    if mode == "messages" and server_messages is not None:
                        for name, data in server_messages.events(chunk):
                            await emit(name, data)
                        if not tuples:
                            continue
                    await emit(mode, chunk)
                continue
            await emit("events", event)
    return values


def cleanup_seconds(scope: anyio.CancelScope, cancelled_at: float | None) -> float | None:
    """Seconds from the cancellation of the run that just left ``scope`` to now (its
    cleanup finished): from ``cancelled_at`` (a request), else from its deadline (a
    timeout); None if it was not cancelled."""
    if not scope.cancel_called:
        return None
    start = cancelled_at if cancelled_at is not None else scope.deadline
    if start == float("inf"):
        return None
    return max(anyio.current_time() - start, 0.0)


def start_clock(scope: anyio.CancelScope, spec: RunSpec, default_timeout: float | None) -> None:
    """Give the run's scope its deadline: the run's ``timeout``, else the server's."""
    timeout = spec.payload.get("timeout") or default_timeout
    if timeout:
        scope.deadline = anyio.current_time() + float(timeout)


async def stream(spec: RunSpec, emit: Emit, on_task: OnTask | None = None) -> Any:
    """Run the graph of ``spec`` (call it inside the run's cancel scope); its final values.
    ``on_task``: see :func:`stream_run`. A graph factory makes the run's graph here, from
    the run's config, inside the run's cancel scope; its context manager is exited
    (shielded) when the run's graph has ended, its nodes' cleanup done."""
    if not is_factory(spec.graph):
        return await _stream(spec, spec.graph, emit, on_task)
    config = dict(spec.payload.get("config") or {})
    ids = {"thread_id": spec.thread_id, "run_id": spec.run_id, "graph_id": spec.graph_id}
    if spec.assistant_id is not None:
        ids["assistant_id"] = spec.assistant_id
    config["configurable"] = {**(config.get("configurable") or {}), **ids}
    config["configurable"] = restore_user(config["configurable"])
    context = spec.payload.get("context")
    async with open_graph(
        spec.graph, config, access="threads.create_run", context=context
    ) as graph:
        spec.made["graph"] = graph
        return await _stream(spec, graph, emit, on_task)


async def _stream(spec: RunSpec, graph: Any, emit: Emit, on_task: OnTask | None) -> Any:
    graph_input, config, options, modes = run_arguments(
        graph,
        spec.payload,
        thread_id=spec.thread_id,
        metadata={
            **(spec.payload.get("metadata") or {}),
            "run_id": spec.run_id,
            "thread_id": spec.thread_id,
            "graph_id": spec.graph_id,
            "assistant_id": spec.assistant_id,
        },
    )
    if spec.resume:
        graph_input = None  # taken over: resume from the thread's last checkpoint
        config["configurable"].pop("checkpoint_id", None)
    if spec.stateless:
        options["checkpointer"] = None
    if spec.durability is not None:
        options.setdefault("durability", spec.durability)
    return await stream_run(
        graph,
        graph_input,
        config,
        options,
        modes,
        subgraphs=bool(spec.payload.get("stream_subgraphs")),
        emit=emit,
        on_task=on_task,
    )


def _status(
    scope: anyio.CancelScope, failure: BaseException | None, action: CancelAction | None
) -> tuple[str, dict[str, str] | None]:
    error = None
    if failure is not None:
        error = {"error": type(failure).__name__, "message": str(failure)}
    if scope.cancel_called:
        timed_out = action is None and anyio.current_time() >= scope.deadline
        return ("timeout" if timed_out else "interrupted"), error
    return ("error" if error is not None else "success"), error


async def settle(
    spec: RunSpec,
    scope: anyio.CancelScope,
    *,
    failure: BaseException | None,
    values: Any,
    action: CancelAction | None,
    reason: str | None = None,
    started: bool = True,
) -> Outcome:
    """What the run that just left ``scope`` came to (call it shielded).

    ``failure``: what :func:`stream` raised; ``values``: what it returned; ``action``: the
    cancel request's action, if the run was cancelled by request (a cancelled run without
    one timed out); ``reason``: the cancel request's reason (``shutdown`` is announced in
    the last event); ``started``: False for a run cancelled before it began (a queued run):
    it wrote nothing, so a rollback removes nothing but the run itself (the thread's
    checkpoints are left alone: another run may be writing them)."""
    status, error = _status(scope, failure, action)
    lifecycle: list[str] = []
    if status == "timeout":
        lifecycle.append("timed out")
    if scope.cancel_called:
        lifecycle.append("cleanup finished")
    outcome = Outcome(status, error, _last_event(status, error, reason), values, lifecycle)
    saver = spec.saver
    if saver is None:
        if error is not None:
            outcome.final = {"__error__": error}
        return outcome
    config = {"configurable": {"thread_id": spec.thread_id}}
    if action == "rollback":
        if started:
            await rollback_run(saver, spec.thread_id, spec.run_id)
        lifecycle.append("rolled back")
        outcome.rolled_back = True
    if outcome.rolled_back and not started:  # it never ran: as if it had never been queued
        if spec.temporary and spec.payload.get("on_completion") != "keep":
            await saver.adelete_thread(spec.thread_id)
        return outcome
    if error is None:
        snapshot = await spec.made.get("graph", spec.graph).aget_state(config)
        if snapshot.created_at is not None:
            if status in ("interrupted", "timeout") and action != "rollback":
                lifecycle.append("checkpoint saved")
                outcome.checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
            if not (spec.temporary and status == "success"):
                outcome.final = _final_values(snapshot)
            outcome.interrupted = action != "rollback" and bool(
                snapshot.next or snapshot.interrupts
            )
    else:
        outcome.final = {"__error__": error}
    if spec.temporary and spec.payload.get("on_completion") != "keep":
        await saver.adelete_thread(spec.thread_id)
    return outcome


def failed(exc: BaseException) -> Outcome:
    """The outcome of a run that could not be settled (its checkpointer failed): ``error``."""
    error = {"error": type(exc).__name__, "message": str(exc)}
    return Outcome("error", error, ("error", error), {"__error__": error}, [])


def unstored_error() -> dict[str, str]:
    """The error of a run whose end the server could not store (the database's own
    words are in the server's log, not sent to clients)."""
    return {
        "error": "RunNotStored",
        "message": "the server could not store the run's end (its storage failed; the "
        "server's log has the reason); the thread's checkpoints are as the run's last "
        "stored step left them",
    }


def _final_values(snapshot: Any) -> Any:
    values = dict(snapshot.values)
    if snapshot.interrupts:
        values["__interrupt__"] = [{"value": i.value, "id": i.id} for i in snapshot.interrupts]
    return values


def _last_event(status: str, error: dict[str, str] | None, reason: str | None) -> tuple[str, Any]:
    if error is not None:
        return "error", error
    if status == "timeout":
        return "error", RUN_TIMEOUT
    if reason == "shutdown":
        return "error", SHUTTING_DOWN
    return "end", None


async def restore_thread(
    saver: BaseCheckpointSaver, thread_id: str, keep: Sequence[CheckpointTuple]
) -> None:
    """Make ``keep`` (oldest first) the thread's whole history: delete the thread's
    checkpoints, then store those again, each with its task records."""
    await saver.adelete_thread(thread_id)
    expected: str | None = None
    for tup in keep:
        await saver.aput(thread_id, "", tup.checkpoint, expected_latest=expected)
        for task in tup.tasks:
            await saver.aput_task(thread_id, "", tup.checkpoint.id, task)
        expected = tup.checkpoint.id


async def rollback_run(saver: BaseCheckpointSaver, thread_id: str, run_id: str) -> None:
    """Put the thread back as it was before ``run_id``: the run's checkpoints (those
    whose metadata names the run) are deleted, the earlier ones kept."""
    tuples = await saver.alist(thread_id, "", before=None)
    keep = [t for t in reversed(tuples) if t.checkpoint.metadata.get("run_id") != run_id]
    await restore_thread(saver, thread_id, keep)
