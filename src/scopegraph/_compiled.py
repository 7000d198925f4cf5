"""``CompiledStateGraph``: the runnable graph and its run APIs."""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread

from ._constants import DEFAULT_GRAPH_NAME, DEFAULT_RECURSION_LIMIT, START
from ._context import CONFIG_KEY_NODE, _current
from ._detach import running_backend
from ._graph import Branch, NodeSpec, check_interrupt_nodes
from ._output import RunOutput
from ._pregel import NodeContext, Run, Sink
from ._run import iterate_detached, open_run
from ._schema import Channel
from ._types import STREAM_MODES, Command, RunnableConfig
from .checkpoint._base import BaseCheckpointSaver

if TYPE_CHECKING:
    from ._graph import StateGraph

__all__ = ("CompiledStateGraph", "RunStream")


def _check_modes(stream_mode: Any) -> tuple[frozenset[str], bool]:
    """The requested modes, and whether chunks are ``(mode, chunk)`` tuples."""
    if isinstance(stream_mode, str):
        modes: Sequence[Any] = (stream_mode,)
        multi = False
    elif isinstance(stream_mode, (list, tuple)):
        modes = stream_mode
        multi = True
    else:
        raise ValueError(
            f"stream_mode must be a mode name or a list of them, not {type(stream_mode).__name__}"
        )
    for mode in modes:
        if mode not in STREAM_MODES:
            raise ValueError(
                f"unknown stream_mode {mode!r}; use one of "
                f"{', '.join(repr(m) for m in sorted(STREAM_MODES))}, or a list of them"
            )
    return frozenset(modes), multi


def _sink_for(out: RunOutput, multi: bool, subgraphs: bool) -> Sink:
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


def _discard(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
    return None


class RunStream:
    """The stream of a run opened with :meth:`CompiledStateGraph.open_stream`.

    Iterate it with ``async for``. ``cancel()`` cancels the run; iteration then ends.
    """

    def __init__(self, run: Run, out: RunOutput, scope: anyio.CancelScope) -> None:
        self._run = run
        self._out = out
        self._scope = scope
        self._batch: deque[Any] = deque()

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._scope.cancel_called

    def cancel(self) -> None:
        """Cancel the run. Its nodes' cleanup still completes before the block exits."""
        self._scope.cancel()

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> Any:
        batch = self._batch
        if not batch:
            batch = self._batch = await self._out.get_batch()
        return batch.popleft()

    async def next_batch(self) -> deque[Any]:
        """Everything available now (at least one item); StopAsyncIteration at the end."""
        if self._batch:
            batch, self._batch = self._batch, deque()
            return batch
        return await self._out.get_batch()


class CompiledStateGraph:
    """A compiled, runnable ``StateGraph``. Create it with ``StateGraph.compile()``."""

    stream_mode = "updates"
    """The default ``stream_mode`` of ``astream`` / ``stream``, as in LangGraph."""

    def __init__(
        self,
        builder: StateGraph,
        *,
        name: str | None = None,
        debug: bool = False,
        checkpointer: BaseCheckpointSaver | None = None,
        interrupt_before: frozenset[str] = frozenset(),
        interrupt_after: frozenset[str] = frozenset(),
    ) -> None:
        self.builder = builder
        self.checkpointer = checkpointer
        self.interrupt_before_nodes = interrupt_before
        self.interrupt_after_nodes = interrupt_after
        self.name = name or DEFAULT_GRAPH_NAME
        self.debug = debug
        self.state_schema = builder.state_schema
        self.input_schema = builder.input_schema
        self.output_schema = builder.output_schema
        channels: dict[str, Channel] = {}
        for schema in (self.state_schema, self.input_schema, self.output_schema):
            for key, channel in schema.channels.items():
                channels.setdefault(key, channel)
        self.channels = channels
        self.reducers = {key: ch.reducer for key, ch in channels.items()}
        self._initials = [
            (key, ch.initial) for key, ch in channels.items() if ch.reducer and ch.initial
        ]
        self.input_channels = self.input_schema.channels
        self.output_keys = tuple(self.output_schema.channels)
        self.nodes: dict[str, NodeSpec] = dict(builder.nodes)
        self.pull_info: dict[str, tuple[tuple[str, ...], tuple[str, str], tuple[int, str]]] = {
            name: ((f"branch:to:{name}",), ("__pregel_pull", name), (0, name))
            for name in self.nodes
        }
        edges: dict[str, list[str]] = {}
        for start, end in builder.edges:
            targets = edges.setdefault(start, [])
            if end not in targets:
                targets.append(end)
        self.edges_from: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in edges.items()}
        self.waiting_edges = list(builder.waiting_edges)
        waiting: dict[str, list[int]] = {}
        for index, (sources, _) in enumerate(self.waiting_edges):
            for source in sources:
                waiting.setdefault(source, []).append(index)
        self.waiting_by_source = waiting
        self.branches: dict[str, list[Branch]] = {k: list(v) for k, v in builder.branches.items()}
        self.recursion_limit = DEFAULT_RECURSION_LIMIT
        self.start_node = NodeSpec(START, None, "async", False, False, False, None, None, {}, None)

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r} nodes={list(self.nodes)!r}>"

    def initial_values(self) -> dict[str, Any]:
        return {key: make() for key, make in self._initials}

    # -- building runs -------------------------------------------------------------------

    def _make_run(
        self,
        input: Any,
        config: RunnableConfig | None,
        *,
        stream_mode: Any,
        subgraphs: bool,
        events: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Run:
        if config is not None and not isinstance(config, dict):
            raise TypeError(
                f"config must be a dict (a RunnableConfig), not {type(config).__name__}"
            )
        options = dict(options or {})
        durability = options.pop("durability", None) or "async"
        if durability not in ("sync", "async", "exit"):
            raise ValueError(f"durability must be 'sync', 'async' or 'exit', not {durability!r}")
        interrupt_before = options.pop("interrupt_before", None)
        interrupt_after = options.pop("interrupt_after", None)
        _reject_unknown(options, "the run")
        saver = self.checkpointer
        if saver is None and (input is None or isinstance(input, Command)):
            raise ValueError(
                "the input is None: pass the initial state as a dict "
                "(resuming from a checkpoint needs a checkpointer)"
            )
        if stream_mode is None:
            modes: frozenset[str] = frozenset()
            out = None
            sink: Sink = _discard
        else:
            modes, multi = _check_modes(stream_mode)
            out = RunOutput()
            sink = _sink_for(out, multi, subgraphs)
        if events:
            out = out or RunOutput()
        run = Run(
            self,
            input,
            config or {},
            output=out,
            modes=modes,
            sink=sink,
            events=events,
        )
        if saver is not None:
            thread_id = run.configurable.get("thread_id")
            if thread_id is None:
                raise ValueError(
                    "this graph has a checkpointer, so each run needs a thread: pass "
                    'config={"configurable": {"thread_id": "some-id"}}'
                )
            run.saver = saver
            run.thread_id = str(thread_id)
            run.durability = durability
            run.interrupt_before = (
                check_interrupt_nodes(self.nodes, "interrupt_before", interrupt_before, saver)
                if interrupt_before is not None
                else self.interrupt_before_nodes
            )
            run.interrupt_after = (
                check_interrupt_nodes(self.nodes, "interrupt_after", interrupt_after, saver)
                if interrupt_after is not None
                else self.interrupt_after_nodes
            )
        elif interrupt_before or interrupt_after:
            check_interrupt_nodes(self.nodes, "interrupt_before", interrupt_before, None)
            check_interrupt_nodes(self.nodes, "interrupt_after", interrupt_after, None)
        return run

    @staticmethod
    def _events_sink(run: Run) -> Sink:
        """astream_events: each root stream chunk becomes a root ``on_chain_stream`` event."""
        out = run.output
        assert out is not None
        metadata = {**run.user_metadata, "ls_integration": "langgraph"}

        def sink(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
            if ns:
                return
            out.put(
                {
                    "event": "on_chain_stream",
                    "run_id": run.run_id,
                    "name": run.run_name,
                    "tags": run.user_tags,
                    "metadata": metadata,
                    "data": {"chunk": (mode, chunk) if run.multi_mode else chunk},
                    "parent_ids": [],
                }
            )

        return sink

    # -- async APIs ----------------------------------------------------------------------

    async def ainvoke(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = "values",
        **kwargs: Any,
    ) -> Any:
        """Run the graph to the end in the caller's task; return the final state.

        With ``stream_mode`` other than ``"values"``, return the list of chunks instead.
        A run that stopped at an ``interrupt()`` returns the state plus
        ``"__interrupt__": [Interrupt(...)]``. Keyword options: ``durability``
        (``"sync"``, ``"async"``, ``"exit"``), ``interrupt_before``, ``interrupt_after``.
        """
        if stream_mode == "values":
            parent = _calling_node(config)
            if parent is not None and self.checkpointer is None:
                # Called from inside a node: a child run, streamed under that node.
                _reject_unknown(kwargs, "ainvoke")
                if input is None:
                    raise ValueError("the input is None: pass the initial state as a dict")
                run = self._nested_run(input, config or parent.config, parent)
            else:
                run = self._make_run(
                    input, config, stream_mode=None, subgraphs=False, options=kwargs
                )
            await run.execute()
            result = run.result()
            if run.interrupts:
                result = dict(result or {})
                result["__interrupt__"] = list(run.interrupts)
            return result
        chunks: list[Any] = []
        async with self.open_stream(input, config, stream_mode=stream_mode, **kwargs) as stream:
            async for chunk in stream:
                chunks.append(chunk)
        return chunks

    def astream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> AsyncGenerator[Any, None]:
        """Stream the run's chunks (default mode ``"updates"``, as in LangGraph).

        The run executes in its own task. Closing the generator (``aclose()``, the end of
        ``async for``, or a cancellation of the consumer while it awaits the generator)
        cancels the run and waits for every node's cleanup before returning. Prefer
        :meth:`open_stream`, which also covers a consumer that stops iterating early.
        """
        run = self._make_run(
            input,
            config,
            stream_mode=self.stream_mode if stream_mode is None else stream_mode,
            subgraphs=subgraphs,
            options=kwargs,
        )
        return iterate_detached(run)

    @asynccontextmanager
    async def open_stream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[RunStream]:
        """Run the graph in a task group owned by this block and stream its chunks.

        The structured form, and the one to prefer::

            async with graph.open_stream(inputs, stream_mode="custom") as stream:
                async for chunk in stream:
                    ...

        The run lives inside the caller's cancel scopes. Leaving the block, for any
        reason, cancels the run if it is still going and waits for every node's cleanup.
        """
        run = self._make_run(
            input,
            config,
            stream_mode=self.stream_mode if stream_mode is None else stream_mode,
            subgraphs=subgraphs,
            options=kwargs,
        )
        assert run.output is not None
        async with open_run(run) as scope:
            yield RunStream(run, run.output, scope)

    def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: str = "v2",
        stream_mode: Any = None,
        include_names: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Stream LangChain-shaped events (``on_chain_start`` ..., ``on_custom_event``).

        Only ``version="v2"`` exists. The run is hosted like :meth:`astream`'s.
        """
        if version != "v2":
            raise ValueError(
                f"astream_events(version={version!r}) is not supported: scopegraph produces "
                "LangChain's v2 event format; pass version='v2'"
            )
        modes = "updates" if stream_mode is None else stream_mode
        run = self._make_run(
            input, config, stream_mode=modes, subgraphs=False, events=True, options=kwargs
        )
        run.multi_mode = not isinstance(modes, str)
        run.sink = self._events_sink(run)
        events = iterate_detached(run)
        if include_names or include_tags or exclude_names or exclude_tags:
            return _filter_events(events, include_names, include_tags, exclude_names, exclude_tags)
        return events

    def _nested_run(self, input: Any, config: RunnableConfig, parent: NodeContext) -> Run:
        """A run of this graph inside a running node: it streams under that node."""
        parent_run = parent.run
        task = parent.task
        return Run(
            self,
            input,
            config,
            output=parent_run.output,
            modes=parent_run.modes,
            sink=parent_run.sink,
            events=parent_run.events,
            ns=(*parent_run.ns, f"{task.name}:{task.id}"),
            checkpoint_ns=parent.checkpoint_ns,
            parent=parent,
        )

    async def run_as_node(self, arg: Any, parent: NodeContext) -> dict[str, Any]:
        """Run this graph as a node of another graph's run (a subgraph)."""
        if isinstance(arg, dict):
            arg = {k: v for k, v in arg.items() if k in self.input_channels}
        elif (update := parent.run.graph.state_schema.object_to_update(arg)) is not None:
            arg = {k: v for k, v in update.items() if k in self.input_channels}
        run = self._nested_run(arg, parent.config, parent)
        await run.execute()
        return run.snapshot()

    # -- sync APIs -----------------------------------------------------------------------

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Synchronous :meth:`ainvoke`.

        From a sync node (a worker thread of a running graph) the run executes in that
        graph's event loop, inside the node's cancel scope.
        """
        call = functools.partial(self.ainvoke, input, config, **kwargs)
        ctx = _current.get()
        if ctx is not None and threading.get_ident() != ctx.run.loop_thread:
            return anyio.from_thread.run(call)
        _check_no_running_loop("invoke", "ainvoke")
        return anyio.run(call)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """Synchronous :meth:`astream`: a generator of chunks, run in a private event loop."""
        _check_no_running_loop("stream", "astream")
        with (
            anyio.from_thread.start_blocking_portal() as portal,
            portal.wrap_async_context_manager(self.open_stream(input, config, **kwargs)) as stream,
        ):
            while True:
                try:
                    batch = portal.call(stream.next_batch)
                except StopAsyncIteration:
                    return
                yield from batch


def _calling_node(config: RunnableConfig | None) -> NodeContext | None:
    """The node this call is made from, if any, in this event loop's thread."""
    ctx = _current.get()
    if ctx is None and isinstance(config, dict):
        configurable = config.get("configurable")
        if isinstance(configurable, dict):
            ctx = configurable.get(CONFIG_KEY_NODE)
    if ctx is None or threading.get_ident() != ctx.run.loop_thread:
        return None
    return ctx


def _reject_unknown(kwargs: dict[str, Any], api: str) -> None:
    if kwargs:
        raise TypeError(
            f"{api} got unsupported arguments: {', '.join(sorted(kwargs))}; the supported "
            "options are durability, interrupt_before and interrupt_after"
        )


def _check_no_running_loop(api: str, async_api: str) -> None:
    if running_backend() is not None:
        raise RuntimeError(
            f"{api}() was called from async code, where it would block the event loop; "
            f"use `await graph.{async_api}(...)` instead"
        )


async def _filter_events(
    events: AsyncGenerator[dict[str, Any], None],
    include_names: Sequence[str] | None,
    include_tags: Sequence[str] | None,
    exclude_names: Sequence[str] | None,
    exclude_tags: Sequence[str] | None,
) -> AsyncGenerator[dict[str, Any], None]:
    try:
        async for event in events:
            name, tags = event["name"], event["tags"]
            included = (include_names and name in include_names) or (
                include_tags and any(t in include_tags for t in tags)
            )
            if (include_names or include_tags) and not included:
                continue
            if exclude_names and name in exclude_names:
                continue
            if exclude_tags and any(t in exclude_tags for t in tags):
                continue
            yield event
    finally:
        await events.aclose()
