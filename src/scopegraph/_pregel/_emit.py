"""Emission: a run's stream payloads (``tasks``, ``debug``, ``checkpoints`` modes), the
sinks that shape chunks for each streaming API, and the ``astream_events`` (v2) envelopes.

Everything here formats and hands over; nothing awaits. Chunks go to the run's
:data:`Sink`, envelopes to its :class:`~scopegraph._output.RunOutput`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import AsyncGenerator, Callable
from typing import Any

from .._constants import END, START
from .._ids import new_id
from .._output import RunOutput
from .._schema import ROOT
from ..checkpoint._base import Checkpoint
from ._algo import snapshot
from ._context import NodeContext, ParsedConfig, RunView, Sink, StreamOptions
from ._task import Task, result_of

__all__ = (
    "NO_STREAM",
    "checkpoint_payload",
    "discard",
    "emit_checkpoint",
    "emit_task_result",
    "emit_task_start",
    "events_sink",
    "events_v1",
    "node_event",
    "put_event",
    "root_event",
    "stream_sink",
    "typed_sink",
)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


# -- sinks: how each API wants its chunks ---------------------------------------------------


def discard(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
    """The sink of a run nobody streams."""
    return None


NO_STREAM = StreamOptions(None, frozenset(), discard)
"""The stream options of a run nobody streams (``ainvoke``)."""


def stream_sink(out: RunOutput, multi: bool, subgraphs: bool) -> Sink:
    """``astream`` / ``open_stream``: ``chunk``, ``(mode, chunk)``, ``(ns, chunk)`` or
    ``(ns, mode, chunk)``; subgraph chunks only with ``subgraphs=True``."""
    put = out.put
    if subgraphs:
        if multi:
            return lambda ns, mode, chunk: put((ns, mode, chunk))
        return lambda ns, mode, chunk: put((ns, chunk))
    if multi:

        def sink_multi(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
            if not ns:
                put((mode, chunk))

        return sink_multi

    def sink_single(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        if not ns:
            put(chunk)

    return sink_single


def typed_sink(
    out: RunOutput,
    subgraphs: bool,
    values_as: Callable[..., Any] | None,
    state_as: Callable[..., Any] | None,
) -> Sink:
    """``astream(..., version="v2")``: LangGraph 1.2's typed stream parts,
    ``{"type": mode, "ns": ns, "data": chunk}`` whatever the modes; a ``values`` part also
    has ``interrupts`` (taken out of the chunk's ``__interrupt__``). Subgraph parts only
    with ``subgraphs=True``, as in v1.

    ``values_as`` / ``state_as``: the output / state schema class when it is a pydantic
    model or a dataclass: as LangGraph, ``values`` data becomes the output schema, and
    ``checkpoints`` / ``debug`` checkpoint values the state schema (but for the input
    checkpoint, whose state may not be complete). As LangGraph, the root graph's schema
    applies to its subgraphs' parts too. A sink of its own, so that v1 pays nothing.
    """
    put = out.put

    def sink(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        if ns and not subgraphs:
            return
        if mode == "values":
            interrupts: Any = ()
            if isinstance(chunk, dict):
                if "__interrupt__" in chunk:  # (a copy: another sink may share the chunk)
                    chunk = dict(chunk)
                    interrupts = chunk.pop("__interrupt__")
                if values_as is not None:
                    chunk = values_as(**chunk)
            put({"type": mode, "ns": ns, "data": chunk, "interrupts": interrupts})
            return
        if state_as is not None and mode in ("checkpoints", "debug"):
            _coerce_checkpoint(chunk, state_as)
        put({"type": mode, "ns": ns, "data": chunk})

    return sink


def _coerce_checkpoint(payload: Any, schema: Callable[..., Any]) -> None:
    """The values of a ``checkpoints`` payload, or a ``debug`` checkpoint event's, as
    ``schema`` (in place: the payload is made for this chunk), unless it is the input
    checkpoint (``next`` is ``__start__``)."""
    if not isinstance(payload, dict):
        return
    if payload.get("type") == "checkpoint" and isinstance(payload.get("payload"), dict):
        payload = payload["payload"]
    values = payload.get("values")
    if isinstance(values, dict) and START not in payload.get("next", ()):
        payload["values"] = schema(**values)


def printing_sink(
    inner: Sink,
    wanted: frozenset[str],
    printed: frozenset[str],
    subgraphs: bool,
    root: tuple[str, ...] = (),
) -> Sink:
    """``debug=True`` / ``print_mode=``: chunks of the ``printed`` modes are printed as
    LangGraph prints them (``[mode] chunk``, bold; ``[graph=ns]`` in yellow for subgraph
    chunks with ``subgraphs=True``); chunks of the ``wanted`` modes go on to ``inner``.
    ``root``: the namespace of the printing run's own chunks (a graph called in a node
    prints its own, not its subgraphs')."""

    def sink(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        if mode in printed and (subgraphs or ns == root):
            where = f" \033[1;30;33m[graph={ns}]\033[0m" if ns != root else ""
            print(f"\033[1m[{mode}]\033[0m{where} {chunk!r}")
        if mode in wanted:
            inner(ns, mode, chunk)

    return sink


def events_sink(out: RunOutput, cfg: ParsedConfig, multi: bool) -> Sink:
    """astream_events: each root stream chunk becomes a root ``on_chain_stream`` event.

    ``cfg`` must carry the run's id (:meth:`ParsedConfig.with_run_id`)."""
    metadata = {"ls_integration": "langgraph", **cfg.user_metadata}  # LangGraph: unless set
    run_id, name, tags, put = cfg.run_id, cfg.run_name, list(cfg.user_tags), out.put

    def sink(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        if ns:
            return
        put(
            {
                "event": "on_chain_stream",
                "run_id": run_id,
                "name": name,
                "tags": tags,
                "metadata": metadata,
                "data": {"chunk": (mode, chunk) if multi else chunk},
                "parent_ids": [],
            }
        )

    return sink


async def events_v1(
    events: AsyncGenerator[dict[str, Any], None], root_metadata: dict[str, Any]
) -> AsyncGenerator[dict[str, Any], None]:
    """``astream_events(version="v1")`` from the v2 envelopes, as LangChain's v1 (built on
    ``astream_log``) differs: no event has ``parent_ids``; the root's events carry the
    config's own ``metadata``; the root's end output is its streamed chunks summed with
    ``+`` where they add (strings, lists), else the last one (dicts)."""
    final: Any = None
    try:
        async for event in events:
            if not event["parent_ids"]:  # the root run's (a subgraph's have its parents)
                event["metadata"] = dict(root_metadata)
                kind = event["event"]
                if kind == "on_chain_stream":
                    final = _added(final, event["data"]["chunk"])
                elif kind == "on_chain_end":
                    event["data"] = {"output": final}
            else:
                event["parent_ids"] = []
                data = event["data"]
                if "output" in data and "input" in data:  # (v1's order of the two)
                    event["data"] = {"input": data["input"], "output": data["output"]}
            yield event
    finally:
        await events.aclose()


def _added(final: Any, chunk: Any) -> Any:
    """LangChain's running ``final_output``: ``final + chunk``, else ``chunk``."""
    if final is None:
        return chunk
    try:
        return final + chunk
    except TypeError:
        return chunk


# -- stream payloads ------------------------------------------------------------------------


def emit_task_start(run: RunView, task: Task) -> None:
    payload = {"id": task.id, "name": task.name, "input": task.input, "triggers": task.triggers}
    _emit_task_event(run, "task", payload)


def emit_task_result(run: RunView, task: Task, error: BaseException | None) -> None:
    writes = task.writes
    if run.opts.spec.functional and task.path[0] == "__pregel_pull":
        # an entrypoint's result: its return value, as LangGraph's END channel write
        writes = [(END, v) for k, v in writes if k == ROOT]
    payload: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "error": error,
        "result": {} if error is not None or task.interrupts else result_of(writes),
        "interrupts": [dataclasses.asdict(i) for i in task.interrupts],
    }
    _emit_task_event(run, "task_result", payload)


def _emit_task_event(run: RunView, kind: str, payload: dict[str, Any]) -> None:
    """A task's start or result: as is in ``tasks`` mode, wrapped as ``kind`` in ``debug``."""
    stream = run.stream
    if "tasks" in stream.modes:
        stream.sink(stream.ns, "tasks", payload)
    if "debug" in stream.modes:
        stream.sink(
            stream.ns,
            "debug",
            {"step": run.step, "timestamp": now(), "type": kind, "payload": payload},
        )


def _checkpoint_config(
    run: RunView, checkpoint_id: str, parents: dict[str, str] | None = None
) -> dict[str, Any]:
    opts = run.opts
    configurable: dict[str, Any] = {
        "checkpoint_ns": opts.checkpoint_ns,
        "thread_id": "" if opts.persist is None else opts.persist.thread_id,
        "checkpoint_id": checkpoint_id,
    }
    if parents:  # a subgraph's checkpoint: where each enclosing graph was (LangGraph's)
        configurable["checkpoint_map"] = {**parents, opts.checkpoint_ns: checkpoint_id}
    return {"configurable": configurable}


def checkpoint_payload(
    run: RunView, checkpoint: Checkpoint, next_tasks: list[Task]
) -> dict[str, Any]:
    """A checkpoint as the ``checkpoints`` stream mode shows it (LangGraph's shape)."""
    parents = checkpoint.metadata.get("parents")
    return {
        "config": _checkpoint_config(run, checkpoint.id, parents),
        "parent_config": None
        if checkpoint.parent_id is None
        else _checkpoint_config(run, checkpoint.parent_id, parents),
        "values": snapshot(run.opts.spec, run.values),
        "metadata": checkpoint.metadata,
        "next": [START]
        if checkpoint.next and checkpoint.next[0][0] == "start"
        else [t.name for t in next_tasks],
        "tasks": [
            {
                "id": t.id,
                "name": t.name,
                "interrupts": tuple(dataclasses.asdict(i) for i in t.interrupts),
                "state": _task_state(run, t),
            }
            for t in next_tasks
        ],
    }


def _task_state(run: RunView, task: Task) -> dict[str, Any] | None:
    """A task's ``state`` as LangGraph's checkpoint payload has it: the config of the
    namespace of the subgraph the task runs, else None (as the state history has it)."""
    node = run.opts.spec.nodes.get(task.name)
    if node is None or not node.subgraphs:
        return None
    opts = run.opts
    ns = f"{task.name}:{task.id}"
    thread_id = "" if opts.persist is None else opts.persist.thread_id
    checkpoint_ns = f"{opts.checkpoint_ns}|{ns}" if opts.checkpoint_ns else ns
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}}


def emit_checkpoint(run: RunView, checkpoint: Checkpoint, next_tasks: list[Task]) -> None:
    stream = run.stream
    payload = checkpoint_payload(run, checkpoint, next_tasks)
    if "checkpoints" in stream.modes:
        stream.sink(stream.ns, "checkpoints", payload)
    if "debug" in stream.modes:
        stream.sink(
            stream.ns,
            "debug",
            {"step": run.step, "timestamp": now(), "type": "checkpoint", "payload": payload},
        )


# -- astream_events envelopes ---------------------------------------------------------------


def root_event(run: RunView, event: str, data: dict[str, Any]) -> None:
    """``on_chain_start`` / ``on_chain_end`` of the run itself (or of a subgraph call)."""
    opts = run.opts
    output = run.stream.output
    assert output is not None
    parent = opts.parent
    if parent is None:
        metadata = {"ls_integration": "langgraph", **opts.cfg.user_metadata}
        tags = list(opts.cfg.user_tags)
        parent_ids: list[str] = []
    else:
        metadata = {**parent.event_metadata(), "checkpoint_ns": parent.checkpoint_ns}
        tags = ["seq:step:1", *opts.cfg.user_tags]
        parent_ids = [*parent.parent_ids, parent.run_id or ""]
    output.put(
        {
            "event": event,
            "data": data,
            "name": opts.cfg.run_name,
            "tags": tags,
            "run_id": run.run_id,
            "metadata": metadata,
            "parent_ids": parent_ids,
        }
    )


def node_event(ctx: NodeContext, event: str, data: dict[str, Any], *, hidden: bool = False) -> None:
    """``on_chain_*`` of one node (``hidden``: START's, as LangGraph tags it)."""
    run = ctx.run
    output = run.stream.output
    assert output is not None
    if ctx.run_id is None:
        ctx.run_id = new_id()
    tags = [f"graph:step:{run.step}", *run.opts.cfg.user_tags]
    if hidden:
        tags.insert(1, "langsmith:hidden")
    output.put(
        {
            "event": event,
            "data": data,
            "name": ctx.task.name,
            "tags": tags,
            "run_id": ctx.run_id,
            "metadata": ctx.event_metadata(),
            "parent_ids": ctx.parent_ids,
        }
    )


def child_event_base(ctx: NodeContext, name: str, hidden: bool) -> dict[str, Any]:
    """What the events of a call inside a node (a conditional edge) share."""
    tags = ["seq:step:2" if hidden else "seq:step:3", *ctx.run.opts.cfg.user_tags]
    if hidden:
        tags.insert(1, "langsmith:hidden")
    return {
        "name": "Unnamed" if name == "condition" else name,
        "tags": tags,
        "run_id": new_id(),
        "metadata": ctx.event_metadata(),
        "parent_ids": [*ctx.parent_ids, ctx.run_id or ""],
    }


def put_event(run: RunView, base: dict[str, Any], event: str, data: dict[str, Any]) -> None:
    output = run.stream.output
    assert output is not None
    output.put({"event": event, "data": data, **base})
