"""``CompiledStateGraph``: the runnable graph and its run APIs."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import threading
import warnings
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager
from typing import Any, Generic, Self, TypeVar, cast

import anyio
import anyio.from_thread
from anyio.lowlevel import current_token

from ._backend import running_backend
from ._constants import DEFAULT_GRAPH_NAME, DEFAULT_RECURSION_LIMIT
from ._drawing import Drawing, converted, draw
from ._errors import GraphInterrupt, bubbling
from ._lazy import integration
from ._output import RunOutput
from ._pregel import (
    CONFIG_KEY_NODE,
    Durability,
    NodeContext,
    ParsedConfig,
    PersistOptions,
    Run,
    RunOptions,
    StreamOptions,
    current,
    parse_config,
)
from ._pregel._context import merge_configs
from ._pregel._emit import (
    NO_STREAM,
    events_sink,
    events_v1,
    printing_sink,
    stream_sink,
    typed_sink,
)
from ._pregel._persist import ns_path
from ._pregel._snapshot import planned_tasks, state_snapshot
from ._pregel._update import update_options, update_state, update_step
from ._run import iterate_detached, open_run, sync_api_run, unwrap_exception_group
from ._runtime import RunControl
from ._schema import StateSchema
from ._spec import BuilderTables, GraphSpec, check_interrupt_nodes
from ._state import StateSnapshot
from ._types import STREAM_MODES, Command, GraphOutput, Interrupt, RunnableConfig, StateUpdate
from ._typing import ContextT, InputT, OutputT, StateT
from .checkpoint._base import BaseCheckpointSaver, CheckpointTuple
from .checkpoint._model import CheckpointNotFoundError

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


class CompiledStateGraph(Generic[StateT, ContextT, InputT, OutputT]):
    """A compiled, runnable ``StateGraph``. Create it with ``StateGraph.compile()``.

    Generic as LangGraph's: ``CompiledStateGraph[State, Context, Input, Output]``.
    """

    stream_mode = "updates"
    """The default ``stream_mode`` of ``astream`` / ``stream``, as in LangGraph."""

    def __init__(
        self,
        builder: BuilderTables,
        *,
        name: str | None = None,
        debug: bool = False,
        checkpointer: BaseCheckpointSaver | bool | None = None,
        interrupt_before: frozenset[str] = frozenset(),
        interrupt_after: frozenset[str] = frozenset(),
        context_schema: Any = None,
        strict: bool = False,
        cache: Any = None,
        store: Any = None,
    ) -> None:
        self.builder = builder
        """The ``StateGraph`` this graph was compiled from."""
        self.checkpointer = checkpointer
        """A saver; or, for a subgraph, None (use the parent's for the length of one
        call), True (keep its own history in the parent's saver, across calls) or False
        (never checkpoint), as in LangGraph."""
        self.interrupt_before_nodes = interrupt_before
        self.interrupt_after_nodes = interrupt_after
        self.name = name or DEFAULT_GRAPH_NAME
        self.debug = debug
        self.context_schema = context_schema
        self.cache = cache
        """``compile(cache=...)``: where nodes with a ``CachePolicy`` keep results."""
        self.store = store
        """``compile(store=...)``: the long-term memory its nodes reach (or None)."""
        self.spec = spec = GraphSpec.build(builder, self.name, strict=strict, cache=cache)
        """The tables the runtime runs this graph with."""
        self.state_schema = spec.state_schema
        self.input_schema = spec.input_schema
        self.output_schema = spec.output_schema
        self.channels = spec.channels
        self.input_channels = spec.input_channels
        self.nodes = spec.nodes
        self.recursion_limit = DEFAULT_RECURSION_LIMIT
        self.step_timeout: float | None = None
        """LangGraph's ``graph.step_timeout``: seconds a superstep may take; its nodes are
        then cancelled and ``TimeoutError("Timed out")`` is raised after they unwound."""
        self.config: RunnableConfig | None = None
        """The config bound with :meth:`with_config`, merged into every run's."""
        self._plain: RunOptions | None = None

    def __repr__(self) -> str:
        return f"<CompiledStateGraph {self.name!r} nodes={list(self.nodes)!r}>"

    # -- configuring and copying ---------------------------------------------------------

    def copy(self, update: dict[str, Any] | None = None) -> Self:
        """A copy of this graph (sharing its builder, tables and checkpointer), with the
        attributes in ``update`` replaced."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(update or {})
        new._plain = None
        return new

    def with_config(self, config: RunnableConfig | None = None, **kwargs: Any) -> Self:
        """A copy of this graph whose runs merge ``config`` (and the keyword keys) into
        theirs: ``configurable`` and ``metadata`` per key, ``tags`` and ``callbacks``
        added, other keys (``recursion_limit``...) replaced by the run's own."""
        bound = merge_configs(self.config, config, cast(RunnableConfig, kwargs))
        return self.copy({"config": bound})

    def __or__(self, other: Any) -> Any:
        """``graph | runnable``: a LangChain chain that starts with this graph (LangGraph's
        graphs are LangChain runnables); needs langchain_core."""
        return _as_runnable(self) | other

    def __ror__(self, other: Any) -> Any:
        """``{"key": runnable} | graph``: a LangChain chain that ends with this graph;
        needs langchain_core. (A LangChain runnable on the left refuses the graph, which
        is not a ``Runnable``: start the chain from the graph or from a dict.)"""
        return other | _as_runnable(self)

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        """The graph's name (or ``name``), with ``suffix`` as LangChain's runnables add
        it: ``"LangGraphInput"``, ``"my_graph_input"``."""
        name = name or self.name
        if not suffix:
            return name
        return name + suffix.title() if name[:1].isupper() else f"{name}_{suffix.lower()}"

    def _bound(self, config: RunnableConfig) -> RunnableConfig:
        """``config`` merged into the config bound with :meth:`with_config`."""
        return config if self.config is None else merge_configs(self.config, config)

    # -- drawing -------------------------------------------------------------------------

    def get_graph(self, config: RunnableConfig | None = None, *, xray: int | bool = False) -> Any:
        """A drawable graph of this graph's nodes and edges, as LangGraph draws it.

        LangChain's ``Graph`` when ``langchain_core`` is installed (``draw_mermaid()``,
        ``draw_ascii()``, ``to_json()``...), else a :class:`scopegraph._drawing.Drawing`
        with ``nodes``, ``edges``, ``draw_mermaid()`` and ``to_json()``. ``xray`` draws
        subgraph nodes as their own nodes (``True``: all the way down; a number: that
        many levels).
        """
        return converted(self._drawing(xray))

    async def aget_graph(
        self, config: RunnableConfig | None = None, *, xray: int | bool = False
    ) -> Any:
        """:meth:`get_graph` (drawing does no I/O)."""
        return self.get_graph(config, xray=xray)

    def _drawing(self, xray: int | bool) -> Drawing:
        subgraphs: dict[str, Drawing] = {}
        if xray:
            deeper = xray if isinstance(xray, bool) or xray <= 0 else xray - 1
            for name, graph in self.get_subgraphs():
                if isinstance(graph, CompiledStateGraph):
                    subgraphs[name] = graph._drawing(deeper)
        return draw(self, subgraphs)

    # -- schemas ---------------------------------------------------------------------------

    def get_input_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The JSON schema of the run input (``input_schema``, else the state schema)."""
        schema: dict[str, Any] = _schemas().state_jsonschema(
            self.builder.input_schema.cls, self.get_name("Input")
        )
        return schema

    def get_output_jsonschema(self, config: RunnableConfig | None = None) -> dict[str, Any]:
        """The JSON schema of the run output (``output_schema``, else the state schema)."""
        schema: dict[str, Any] = _schemas().state_jsonschema(
            self.builder.output_schema.cls, self.get_name("Output")
        )
        return schema

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The JSON schema of the ``context_schema``, or None without one."""
        result: dict[str, Any] | None = _schemas().context_jsonschema(self.context_schema)
        return result

    # -- building runs -------------------------------------------------------------------

    def _options(
        self,
        input: Any,
        config: RunnableConfig | None,
        *,
        stream_mode: Any,
        subgraphs: bool = False,
        events: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> RunOptions:
        """Check a run API's arguments; the options of the run they ask for."""
        if config is not None and not isinstance(config, dict):
            raise TypeError(
                f"config must be a dict (a RunnableConfig), not {type(config).__name__}"
            )
        if self.config is not None:
            config = merge_configs(self.config, config)
        if (
            config is None
            and not options
            and stream_mode is None
            and (self.checkpointer is None or self._saver is None)
            and not self.interrupt_before_nodes
            and not self.interrupt_after_nodes
            and not self.debug
        ):
            self._check_stateless_input(input)
            return self._plain_options()
        options = dict(options or {})
        durability = options.pop("durability", None) or "async"
        if durability not in ("sync", "async", "exit"):
            raise ValueError(f"durability must be 'sync', 'async' or 'exit', not {durability!r}")
        interrupt_before = options.pop("interrupt_before", None)
        interrupt_after = options.pop("interrupt_after", None)
        # checkpointer=None runs a graph compiled with one without it (the run server's
        # stateless runs, whose thread would be deleted at the end anyway).
        saver = options.pop("checkpointer", self._saver)
        context = self._coerce_context(options.pop("context", None))
        debug, print_mode = options.pop("debug", None), options.pop("print_mode", ())
        printed = ("updates", "values") if debug or self.debug else print_mode
        control = options.pop("control", None)
        if control is not None and not isinstance(control, RunControl):
            raise TypeError(f"control must be a RunControl, not {type(control).__name__}")
        typed = _typed_parts(options.pop("version", "v1"))
        _reject_unknown(options, "the run")
        if saver is None:
            self._check_stateless_input(input)
        cfg = parse_config(config or {}, self.name, self.recursion_limit)
        stream, cfg = self._streaming(stream_mode, subgraphs, events, cfg, typed)
        if printed:
            shown, _ = _check_modes(printed)
            sink = printing_sink(stream.sink, stream.modes, shown, subgraphs)
            stream = dataclasses.replace(stream, modes=stream.modes | shown, sink=sink)
        # Without a checkpointer the run still stops at them, as LangGraph's does.
        before, after = self.interrupt_before_nodes, self.interrupt_after_nodes
        if interrupt_before is not None:
            before = check_interrupt_nodes(
                self.nodes, "interrupt_before", interrupt_before, saver, required=False
            )
        if interrupt_after is not None:
            after = check_interrupt_nodes(
                self.nodes, "interrupt_after", interrupt_after, saver, required=False
            )
        run = RunOptions(
            self.spec,
            cfg,
            stream,
            context=context,
            control=control,
            store=self.store,
            step_timeout=self.step_timeout,
            interrupt_before=before,
            interrupt_after=after,
        )
        if saver is None:
            return run
        thread_id = cfg.configurable.get("thread_id")
        if thread_id is None:
            raise ValueError(
                "this graph has a checkpointer, so each run needs a thread: pass "
                'config={"configurable": {"thread_id": "some-id"}}'
            )
        persist = PersistOptions(saver, str(thread_id), cast(Durability, durability))
        return dataclasses.replace(run, persist=persist)

    @property
    def _saver(self) -> BaseCheckpointSaver | None:
        """The saver a run of this graph on its own (not as a subgraph) uses."""
        checkpointer = self.checkpointer
        if checkpointer is True:
            raise RuntimeError(
                "checkpointer=True cannot be used for root graphs: it makes a subgraph keep "
                "its history in its parent's checkpointer; compile this graph with a saver"
            )
        return checkpointer if isinstance(checkpointer, BaseCheckpointSaver) else None

    def _check_stateless_input(self, input: Any) -> None:
        """A run without a checkpointer has nothing to resume: its input is the state, or
        (LangGraph's) a ``Command`` whose update and goto start the run."""
        if isinstance(input, Command) and input.resume is None and not self.spec.functional:
            return
        if isinstance(input, Command) and input.resume is not None:
            raise RuntimeError(
                "Cannot use Command(resume=...) without checkpointer: compile the graph "
                "with one, graph.compile(checkpointer=InMemorySaver())"
            )
        if isinstance(input, Command):
            raise ValueError(
                "an @entrypoint takes its input value, not a Command, without a "
                "checkpointer (a Command goes on from a checkpoint)"
            )
        if input is None:
            raise ValueError(
                "the input is None: pass the initial state as a dict "
                "(resuming from a checkpoint needs a checkpointer)"
            )

    def _plain_options(self) -> RunOptions:
        """The options of ``ainvoke(input)`` without config or options: the same for
        every such run, so they are made once (while ``name``, ``recursion_limit`` and
        ``step_timeout`` stay as they are)."""
        plain = self._plain
        if (
            plain is None
            or plain.cfg.run_name != self.name
            or plain.cfg.recursion_limit != self.recursion_limit
            or plain.step_timeout != self.step_timeout
            or plain.store is not self.store
        ):
            cfg = parse_config({}, self.name, self.recursion_limit)
            plain = self._plain = RunOptions(
                self.spec, cfg, NO_STREAM, store=self.store, step_timeout=self.step_timeout
            )
        return plain

    def _streaming(
        self,
        stream_mode: Any,
        subgraphs: bool,
        events: str | None,
        cfg: ParsedConfig,
        typed: bool = False,
    ) -> tuple[StreamOptions, ParsedConfig]:
        """Where a run's chunks go (an ``astream_events`` run needs its id now: its sink
        puts it on every chunk; ``typed``: ``version="v2"``'s typed stream parts)."""
        if stream_mode is None:
            return NO_STREAM, cfg
        modes, multi = _check_modes(stream_mode)
        out = RunOutput()
        if events:
            cfg = cfg.with_run_id()
            sink = events_sink(out, cfg, not isinstance(stream_mode, str))
            return StreamOptions(out, modes, sink, events=True, events_v1=events == "v1"), cfg
        if typed:
            spec = self.spec
            values_as, state_as = _as_class(spec.output_schema), _as_class(spec.state_schema)
            sink = typed_sink(out, subgraphs, values_as, state_as)
        else:
            sink = stream_sink(out, multi, subgraphs)
        return StreamOptions(out, modes, sink, subgraphs=subgraphs), cfg

    def _coerce_context(self, context: Any) -> Any:
        """``context=`` as the nodes get it: a dict becomes the ``context_schema`` when
        that is a dataclass or a pydantic model. As in LangGraph, a dict that does not
        fit raises the schema's own error (TypeError, pydantic's ValidationError)."""
        schema = self.context_schema
        if not isinstance(context, dict) or schema is None or not isinstance(schema, type):
            return context
        if dataclasses.is_dataclass(schema) or callable(getattr(schema, "model_validate", None)):
            return schema(**context)
        return context

    # -- async APIs ----------------------------------------------------------------------

    async def ainvoke(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = "values",
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Run the graph to the end in the caller's task; return the final state.

        With ``stream_mode`` other than ``"values"``, return the list of chunks instead.
        A run that stopped at an ``interrupt()`` returns the state plus
        ``"__interrupt__": [Interrupt(...)]``. Keyword options: ``durability``
        (``"sync"``, ``"async"``, ``"exit"``), ``interrupt_before``, ``interrupt_after``.
        ``subgraphs=True`` (with another ``stream_mode``): the chunks of subgraphs too, as
        ``(namespace, chunk)``.
        """
        if stream_mode == "values":
            typed = "version" in kwargs and _typed_parts(kwargs.pop("version"))
            parent = _calling_node(config)
            if parent is not None and self._runs_nested(parent, config):
                # Called from inside a node: a child run, streamed under that node.
                if input is None:
                    raise ValueError("the input is None: pass the initial state as a dict")
                bound = self._bound(config or parent.config)
                run = self._nested_run(input, bound, parent, kwargs)
                await run.execute()
                result = _nested_result(run, run.result())
                return self._graph_output(result, ()) if typed else result
            options = self._options(input, config, stream_mode=None, options=kwargs)
            if parent is not None:
                options = _streamed_to_caller(options, parent, config)
            run = Run(options, input)
            await run.execute()
            result = run.result()
            if typed:
                return self._graph_output(result, tuple(run.interrupts))
            if run.interrupts:
                result = dict(result) if isinstance(result, dict) else {}
                result["__interrupt__"] = list(run.interrupts)
            return result
        chunks: list[Any] = []
        opened = self.open_stream(
            input, config, stream_mode=stream_mode, subgraphs=subgraphs, **kwargs
        )
        async with opened as stream:
            async for chunk in stream:
                chunks.append(chunk)
        return chunks

    def _graph_output(self, result: Any, interrupts: tuple[Interrupt, ...]) -> GraphOutput[Any]:
        """``ainvoke(..., version="v2")``'s result: the output as the last ``values`` part
        has it (the output schema's class, when a pydantic model or a dataclass)."""
        values_as = _as_class(self.spec.output_schema)
        if values_as is not None and isinstance(result, dict):
            result = values_as(**result)
        return GraphOutput(value=result, interrupts=interrupts)

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
        options = self._options(
            input,
            config,
            stream_mode=self.stream_mode if stream_mode is None else stream_mode,
            subgraphs=subgraphs,
            options=kwargs,
        )
        if (parent := _calling_node(config)) is not None:
            options = _streamed_to_caller(options, parent, config)
        return iterate_detached(Run(options, input))

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
        caller = _calling_node(config)
        opened = self._open_stream(input, config, stream_mode, subgraphs, kwargs, caller)
        async with opened as stream:
            yield stream

    @asynccontextmanager
    async def _open_stream(
        self,
        input: Any,
        config: RunnableConfig | None,
        stream_mode: Any,
        subgraphs: bool,
        kwargs: dict[str, Any],
        caller: NodeContext | None,
        token: Any = None,
    ) -> AsyncIterator[RunStream]:
        """:meth:`open_stream` called from inside the node ``caller`` (if any; ``token``:
        that node's event loop, when it is not this one)."""
        options = self._options(
            input,
            config,
            stream_mode=self.stream_mode if stream_mode is None else stream_mode,
            subgraphs=subgraphs,
            options=kwargs,
        )
        if caller is not None:
            options = _streamed_to_caller(options, caller, config, token)
        async with self._open(Run(options, input)) as stream:
            yield stream

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

        ``version="v2"``, or LangChain's deprecated ``"v1"`` (it warns, as LangChain
        does: no ``parent_ids``, the root's own metadata, the root's end output built
        from its streamed chunks). The run is hosted like :meth:`astream`'s.
        """
        if version not in ("v1", "v2"):
            raise ValueError(
                f"astream_events(version={version!r}) is not supported: pass version='v2' "
                "(or LangChain's deprecated 'v1')"
            )
        modes = "updates" if stream_mode is None else stream_mode
        options = self._options(input, config, stream_mode=modes, events=version, options=kwargs)
        events = iterate_detached(Run(options, input))
        if version == "v1":
            _warn_events_v1()
            own = merge_configs(self.config, config) if self.config is not None else config
            events = events_v1(events, dict((own or {}).get("metadata") or {}))
        if include_names or include_tags or exclude_names or exclude_tags:
            return _filter_events(events, include_names, include_tags, exclude_names, exclude_tags)
        return events

    @asynccontextmanager
    async def open_event_stream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        stream_mode: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[RunStream]:
        """:meth:`astream_events` (v2) in the structured form of :meth:`open_stream`: the
        run lives in a task group owned by this block, and leaving the block cancels it
        and waits for every node's cleanup. Root stream chunks arrive as root
        ``on_chain_stream`` events (``(mode, chunk)`` when ``stream_mode`` is a list)."""
        modes = "updates" if stream_mode is None else stream_mode
        options = self._options(input, config, stream_mode=modes, events="v2", options=kwargs)
        async with self._open(Run(options, input)) as stream:
            yield stream

    @staticmethod
    @asynccontextmanager
    async def _open(run: Run) -> AsyncIterator[RunStream]:
        output = run.stream.output
        assert output is not None
        async with open_run(run) as scope:
            yield RunStream(run, output, scope)

    def _runs_nested(self, parent: NodeContext, config: RunnableConfig | None) -> bool:
        """Whether a call from inside ``parent`` runs as its subgraph: unless the call's
        config addresses a checkpoint lineage of its own (LangGraph 1.2: a thread_id,
        checkpoint_ns, checkpoint_id or checkpoint_map in a config that is not the
        node's), or this graph has a saver of its own and the parent's run keeps no
        checkpoints in this thread."""
        if self.checkpointer is not True and (_own_lineage(config) or _own_lineage(self.config)):
            return False
        if not isinstance(self.checkpointer, BaseCheckpointSaver):
            return True
        persist = parent.run.opts.persist
        thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
        return persist is not None and (thread_id is None or str(thread_id) == persist.thread_id)

    def _nested_run(
        self,
        input: Any,
        config: RunnableConfig,
        parent: NodeContext,
        options: dict[str, Any] | None = None,
    ) -> Run:
        """A run of this graph inside a running node: it streams under that node, and
        keeps its checkpoints in the parent's saver under the node's namespace.

        ``options``: the run options of the call (``graph.invoke(x, control=...)`` in a
        node), which replace what the child would take from its parent's run: its
        ``control``, ``context``, ``durability``, ``interrupt_before`` / ``_after``.
        """
        outer = parent.run.opts
        nested = _NestedOptions(self, dict(options or {}), outer)
        task = parent.task
        ns = parent.checkpoint_ns
        calls = task.subgraph_calls
        task.subgraph_calls += 1
        if calls:
            ns = f"{ns}|{calls}"
        persist = None
        if outer.persist is not None and self.checkpointer is not False:
            stateful = self.checkpointer is True
            if stateful:  # (the call counts stay: each call keeps its own history)
                ns = self._own_ns(ns)
            persist = dataclasses.replace(outer.persist, stateful=stateful)
            if nested.durability is not None:
                persist = dataclasses.replace(persist, durability=nested.durability)
        stream = parent.run.stream
        if stream is not NO_STREAM:  # chunks are namespaced as the checkpoints are
            stream = dataclasses.replace(stream, ns=tuple(ns.split("|")))
        if nested.printed:  # debug= / print_mode=: LangGraph prints the call's own chunks
            own = tuple(ns.split("|"))  # (with their namespace)
            sink = printing_sink(stream.sink, stream.modes, nested.printed, False, own)
            modes = stream.modes | nested.printed
            stream = dataclasses.replace(stream, modes=modes, sink=sink, ns=own)
        run_options = RunOptions(
            self.spec,
            parse_config(config, self.name, self.recursion_limit),
            stream,
            context=nested.context,  # a subgraph shares its parent run's context
            control=nested.control,  # and its RunControl, unless the call has its own
            store=self.store if outer.store is None else outer.store,  # the parent's store
            step_timeout=self.step_timeout,
            parent=parent,
            checkpoint_ns=ns,
            persist=persist,
            interrupt_before=nested.interrupt_before,
            interrupt_after=nested.interrupt_after,
        )
        return Run(run_options, input)

    async def run_as_node(self, arg: Any, parent: NodeContext) -> Any:
        """Run this graph as a node of another graph's run (a subgraph)."""
        if isinstance(arg, dict):
            arg = {k: v for k, v in arg.items() if k in self.input_channels}
        elif (update := parent.run.opts.spec.state_schema.object_to_update(arg)) is not None:
            arg = {k: v for k, v in update.items() if k in self.input_channels}
        run = self._nested_run(arg, parent.config, parent)
        await run.execute()
        return _nested_result(run, run.snapshot())

    # -- subgraphs -----------------------------------------------------------------------

    def get_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> Iterator[tuple[str, CompiledStateGraph]]:
        """The ``(namespace, subgraph)`` pairs of this graph's nodes that run a graph.

        ``namespace`` (``"node"`` or ``"node|inner"``, without task ids): only the
        subgraph there (a nested one needs ``recurse=True``). ``recurse``: the
        subgraphs' subgraphs too, namespaced ``parent|child``.
        """
        for name, node in self.nodes.items():
            if namespace is not None and namespace != name and not namespace.startswith(f"{name}|"):
                continue
            found = node.subgraphs
            if not found:
                continue
            graph = found[0]
            if namespace == name:
                yield name, graph
                return
            if namespace is None:
                yield name, graph
            if recurse and isinstance(graph, CompiledStateGraph):
                rest = None if namespace is None else namespace[len(name) + 1 :]
                for child, sub in graph.get_subgraphs(namespace=rest, recurse=True):
                    yield f"{name}|{child}", sub

    async def aget_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> AsyncIterator[tuple[str, CompiledStateGraph]]:
        """:meth:`get_subgraphs`, for ``async for``."""
        for pair in self.get_subgraphs(namespace=namespace, recurse=recurse):
            yield pair

    # -- state API -----------------------------------------------------------------------

    def _saver_for(self, api: str) -> BaseCheckpointSaver:
        """The saver of a state API; as LangGraph: RuntimeError for a graph compiled with
        ``checkpointer=True`` (only a subgraph borrows its parent's), else ValueError
        ("No checkpointer set", LangGraph's words, with the fix)."""
        saver = self._saver
        if saver is None:
            raise ValueError(
                f"No checkpointer set: {api} needs a checkpointer; compile the graph with "
                "checkpointer=InMemorySaver() (or SqliteSaver/PostgresSaver)"
            )
        return saver

    @staticmethod
    def _thread_of(config: RunnableConfig | None, api: str) -> tuple[str, str, str | None]:
        configurable = (config or {}).get("configurable") or {}
        thread_id = configurable.get("thread_id")
        if thread_id is None:
            raise ValueError(
                f'{api} needs a thread: pass config={{"configurable": {{"thread_id": ...}}}}'
            )
        return (
            str(thread_id),
            configurable.get("checkpoint_ns", ""),
            configurable.get("checkpoint_id"),
        )

    def _snapshot(
        self,
        tup: CheckpointTuple | None,
        config: RunnableConfig,
        *,
        live: bool = False,
        task_states: dict[str, Any] | None = None,
    ) -> StateSnapshot:
        return state_snapshot(self.spec, tup, config, live=live, task_states=task_states)

    def _graph_at(
        self, config: RunnableConfig, *, for_update: bool = False
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The graph whose state a config's ``checkpoint_ns`` holds: the subgraph there,
        or this graph (a read of a namespace no node declares, such as a graph a tool
        calls, uses this graph's channels, as in LangGraph; an update raises)."""
        ns = ((config or {}).get("configurable") or {}).get("checkpoint_ns") or ""
        if not ns:
            return self
        path = "|".join(part.split(":")[0] for part in ns.split("|") if not part.isdigit())
        for _, graph in self.get_subgraphs(namespace=path, recurse=True):
            return graph
        if for_update:
            raise ValueError(f"Subgraph {path} not found")
        return self

    def _own_ns(self, ns: str) -> str:
        """Where this graph keeps its checkpoints when ``ns`` calls it: a
        ``checkpointer=True`` subgraph keeps one history, under ``ns`` without task ids."""
        return ns_path(ns) if self.checkpointer is True else ns

    def _subgraph_tasks(
        self, tup: CheckpointTuple | None
    ) -> Iterator[tuple[str, CompiledStateGraph, RunnableConfig]]:
        """Each planned task of ``tup`` that runs a subgraph: its id, the subgraph, and
        the config of the subgraph's namespace."""
        if tup is None:
            return
        for task_id, name in planned_tasks(tup.checkpoint):
            node = self.nodes.get(name)
            found = node.subgraphs if node is not None else []
            if found and isinstance(found[0], CompiledStateGraph):
                ns = f"{tup.ns}|{name}:{task_id}" if tup.ns else f"{name}:{task_id}"
                yield (
                    task_id,
                    found[0],
                    {"configurable": {"thread_id": tup.thread_id, "checkpoint_ns": ns}},
                )

    async def aget_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its newest checkpoint (or at ``checkpoint_id``).

        ``subgraphs=True``: each task that runs a subgraph carries the subgraph's state
        (else the config of its namespace, as in LangGraph)."""
        saver = self._saver_for("get_state()")
        config = self._bound(config)
        return await self._graph_at(config)._aread_state(saver, config, subgraphs)

    async def _aread_state(
        self, saver: BaseCheckpointSaver, config: RunnableConfig, subgraphs: bool
    ) -> StateSnapshot:
        thread, ns, checkpoint_id = self._thread_of(config, "get_state()")
        tup = await saver.aget_tuple(thread, self._own_ns(ns), checkpoint_id)
        states: dict[str, Any] = {}
        for task_id, sub, sub_config in self._subgraph_tasks(tup):
            states[task_id] = (
                await sub._aread_state(saver, sub_config, True) if subgraphs else sub_config
            )
        return self._snapshot(tup, config, live=checkpoint_id is None, task_states=states)

    def get_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        """Synchronous :meth:`aget_state`."""
        saver = self._saver_for("get_state()")
        config = self._bound(config)
        return self._graph_at(config)._read_state(saver, config, subgraphs)

    def _read_state(
        self, saver: BaseCheckpointSaver, config: RunnableConfig, subgraphs: bool
    ) -> StateSnapshot:
        thread, ns, checkpoint_id = self._thread_of(config, "get_state()")
        tup = saver.get_tuple(thread, self._own_ns(ns), checkpoint_id)
        states: dict[str, Any] = {}
        for task_id, sub, sub_config in self._subgraph_tasks(tup):
            states[task_id] = sub._read_state(saver, sub_config, True) if subgraphs else sub_config
        return self._snapshot(tup, config, live=checkpoint_id is None, task_states=states)

    async def aget_state_history(
        self,
        config: RunnableConfig,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """The thread's checkpoints, newest first, as snapshots."""
        saver = self._saver_for("get_state_history()")
        config = self._bound(config)
        thread, ns, checkpoint_id = self._thread_of(config, "get_state_history()")
        graph = self._graph_at(config)
        page = _HistoryPage(filter, limit, _checkpoint_id_of(before))
        if checkpoint_id is not None:  # that checkpoint alone, as LangGraph's savers list
            try:
                tup = await saver.aget_tuple(thread, graph._own_ns(ns), checkpoint_id)
            except CheckpointNotFoundError:
                tup = None
            page.done = True
            for found in page.take(page.older([tup] if tup else [])):
                yield graph._history_snapshot(found, config)
        while not page.done:
            ns_own = graph._own_ns(ns)
            tuples = await saver.alist(thread, ns_own, before=page.before, limit=page.size)
            for tup in page.take(tuples):
                yield graph._history_snapshot(tup, config)

    def get_state_history(
        self,
        config: RunnableConfig,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """Synchronous :meth:`aget_state_history`."""
        saver = self._saver_for("get_state_history()")
        config = self._bound(config)
        thread, ns, checkpoint_id = self._thread_of(config, "get_state_history()")
        graph = self._graph_at(config)
        page = _HistoryPage(filter, limit, _checkpoint_id_of(before))
        if checkpoint_id is not None:  # that checkpoint alone, as LangGraph's savers list
            try:
                tup = saver.get_tuple(thread, graph._own_ns(ns), checkpoint_id)
            except CheckpointNotFoundError:
                tup = None
            page.done = True
            for found in page.take(page.older([tup] if tup else [])):
                yield graph._history_snapshot(found, config)
        while not page.done:
            tuples = saver.list(thread, graph._own_ns(ns), before=page.before, limit=page.size)
            for tup in page.take(tuples):
                yield graph._history_snapshot(tup, config)

    def _history_snapshot(self, tup: CheckpointTuple, config: RunnableConfig) -> StateSnapshot:
        """A snapshot of the history, with its subgraph tasks' configs as their state."""
        states = {task_id: sub for task_id, _, sub in self._subgraph_tasks(tup)}
        return self._snapshot(tup, config, task_states=states)

    async def aupdate_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        """Write ``values`` to the thread as if node ``as_node`` had returned them.

        Reducers apply, and the next step is planned from ``as_node``'s edges. Returns the
        config of the new checkpoint.
        """
        saver = self._saver_for("update_state()")
        config = self._bound(config)
        thread, ns, _ = self._thread_of(config, "update_state()")
        graph = self._graph_at(config, for_update=True)
        options = update_options(
            graph.spec,
            config,
            saver,
            thread,
            graph._own_ns(ns),
            name=self.name,
            recursion_limit=self.recursion_limit,
        )
        return await update_state(options, values, as_node)

    async def abulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """Several supersteps of updates, one checkpoint each (LangGraph's): the updates
        of one superstep are tasks of the same step, applied in order. Returns the
        config of the last checkpoint."""
        if len(supersteps) == 0:
            raise ValueError("No supersteps provided")
        if any(len(updates) == 0 for updates in supersteps):
            raise ValueError("No updates provided")
        saver = self._saver_for("bulk_update_state()")
        thread, ns, _ = self._thread_of(config, "bulk_update_state()")
        for updates in supersteps:
            options = update_options(
                self.spec,
                config,
                saver,
                thread,
                ns,
                name=self.name,
                recursion_limit=self.recursion_limit,
            )
            config = await update_step(options, [(u.values, u.as_node, u.task_id) for u in updates])
        return config

    def bulk_update_state(
        self, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
    ) -> RunnableConfig:
        """Synchronous :meth:`abulk_update_state` (runs it in a private event loop)."""
        result: RunnableConfig = _run_sync(
            functools.partial(self.abulk_update_state, config, supersteps)
        )
        return result

    def update_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        """Synchronous :meth:`aupdate_state` (runs it in a private event loop)."""
        result: RunnableConfig = _run_sync(
            functools.partial(self.aupdate_state, config, values, as_node)
        )
        return result

    # -- batches -------------------------------------------------------------------------

    async def abatch(
        self,
        inputs: Sequence[Any],
        config: RunnableConfig | Sequence[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """:meth:`ainvoke` on each input, concurrently (at most ``max_concurrency`` of the
        first config at once); the results in the order of ``inputs``.

        ``config`` is one config for all, or one per input. A failing run cancels the
        others and its exception is raised (every run has ended by then), unless
        ``return_exceptions=True``: its exception is then its result.
        """
        configs = _batch_configs(config, len(inputs))
        results: list[Any] = [None] * len(inputs)
        limit = (configs[0] or {}).get("max_concurrency") if configs else None
        limiter = anyio.CapacityLimiter(limit) if isinstance(limit, int) and limit > 0 else None

        async def one(i: int) -> None:
            try:
                if limiter is None:
                    results[i] = await self.ainvoke(inputs[i], configs[i], **kwargs)
                else:
                    async with limiter:
                        results[i] = await self.ainvoke(inputs[i], configs[i], **kwargs)
            except Exception as exc:
                if not return_exceptions:
                    raise
                results[i] = exc

        async with unwrap_exception_group(), anyio.create_task_group() as tg:
            for i in range(len(inputs)):
                tg.start_soon(one, i)
        return results

    def batch(
        self,
        inputs: Sequence[Any],
        config: RunnableConfig | Sequence[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Synchronous :meth:`abatch` (runs it in a private event loop)."""
        call = functools.partial(
            self.abatch, inputs, config, return_exceptions=return_exceptions, **kwargs
        )
        results: list[Any] = _run_sync(call)
        return results

    async def aclear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Forget the cached results of ``nodes`` (default: every node with a
        ``cache_policy``)."""
        if self.cache is None:
            raise ValueError("No cache is set for this graph. Cannot clear cache.")
        names = nodes if nodes is not None else list(self.nodes)
        namespaces = [
            self.nodes[n].cache_ns for n in names if self.nodes[n].cache_policy is not None
        ]
        await self.cache.aclear(namespaces)

    def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Synchronous :meth:`aclear_cache`."""
        _run_sync(functools.partial(self.aclear_cache, nodes))

    # -- sync APIs -----------------------------------------------------------------------

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Synchronous :meth:`ainvoke`.

        From a sync node (a worker thread of a running graph) the run executes in that
        graph's event loop, inside the node's cancel scope.
        """
        call = functools.partial(self.ainvoke, input, config, **kwargs)
        ctx = current.get()
        if ctx is not None and threading.get_ident() != ctx.run.loop_thread:
            return anyio.from_thread.run(call, token=ctx.loop_token())
        token = sync_api_run.set(True)
        try:
            return _run_sync(call)
        finally:
            sync_api_run.reset(token)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """Synchronous :meth:`astream`: a generator of chunks, run in a private event loop
        (in a thread of its own; the calling thread waits for each batch of chunks)."""
        stream_mode, subgraphs = kwargs.pop("stream_mode", None), kwargs.pop("subgraphs", False)
        caller, token = current.get(), None
        if caller is not None and threading.get_ident() != caller.run.loop_thread:
            # a sync node's: its graph's loop takes what is streamed to it (see
            # _streamed_to_caller), from the private loop's thread
            token = anyio.from_thread.run_sync(current_token, token=caller.loop_token())
        else:
            caller = None
        opened = self._open_stream(input, config, stream_mode, subgraphs, kwargs, caller, token)
        with (
            anyio.from_thread.start_blocking_portal() as portal,
            portal.wrap_async_context_manager(opened) as stream,
        ):
            while True:
                try:
                    batch = portal.call(stream.next_batch)
                except StopAsyncIteration:
                    return
                yield from batch


def _as_runnable(graph: CompiledStateGraph[Any, Any, Any, Any]) -> Any:
    """``graph`` as a LangChain ``Runnable`` (``scopegraph._langchain_runnable``)."""
    wrap = integration("langchain runnable")
    if wrap is None:
        raise ImportError(
            "composing a graph with | makes a LangChain chain, and langchain_core is not "
            "installed: pip install 'scopegraph[langchain]'"
        )
    return wrap(graph)


def _schemas() -> Any:
    schemas = integration("json schema")
    if schemas is None:
        raise ImportError(
            "JSON schemas are made with pydantic, which is not installed: "
            "pip install 'scopegraph[server]' (or pip install pydantic)"
        )
    return schemas


def _batch_configs(
    config: RunnableConfig | Sequence[RunnableConfig] | None, n: int
) -> list[RunnableConfig | None]:
    """One config per input of a batch."""
    if isinstance(config, (list, tuple)):
        if len(config) != n:
            raise ValueError(
                f"batch got {len(config)} configs for {n} inputs; pass one config for all "
                "inputs or exactly one per input"
            )
        return list(config)
    return [cast(RunnableConfig | None, config)] * n


def _nested_result(run: Run, result: Any) -> Any:
    """A subgraph's result; a subgraph that stopped at an interrupt stops its parent's
    node too (its checkpoints resume it when the parent's node runs again)."""
    if run.paused:
        raise bubbling(GraphInterrupt, "GraphInterrupt", tuple(run.interrupts))
    return result


class _HistoryPage:
    """The pages in which ``get_state_history`` reads a thread's checkpoints, so that the
    saver's query applies the limit: without a filter, one page of ``limit`` rows (all
    rows when there is no limit); with a metadata filter, pages of at least
    ``_HISTORY_PAGE`` rows, each starting before the last row read, until ``limit``
    snapshots matched or the thread has no older checkpoint."""

    def __init__(self, filter: dict[str, Any] | None, limit: int | None, before: str | None):
        self.filter = filter
        self.left = limit
        self.before = before
        self.done = limit is not None and limit <= 0
        self.size = limit if not filter else max(limit or 0, _HISTORY_PAGE)
        """Rows to read in the next page (None: all)."""

    def older(self, tuples: Sequence[CheckpointTuple]) -> list[CheckpointTuple]:
        """The tuples older than ``before`` (all without it)."""
        if self.before is None:
            return list(tuples)
        return [tup for tup in tuples if tup.checkpoint.id < self.before]

    def take(self, tuples: Sequence[CheckpointTuple]) -> Iterator[CheckpointTuple]:
        """The matching tuples of one page, at most what is left."""
        self.done = True  # unless this page was full and more are wanted
        for tup in tuples:
            metadata = tup.checkpoint.metadata
            if self.filter and any(metadata.get(k) != v for k, v in self.filter.items()):
                continue
            yield tup
            if self.left is not None:
                self.left -= 1
                if self.left == 0:
                    return
        if self.filter and self.size is not None and len(tuples) == self.size:
            self.before = tuples[-1].checkpoint.id
            self.done = False


_HISTORY_PAGE = 100


def _checkpoint_id_of(config: RunnableConfig | None) -> str | None:
    return ((config or {}).get("configurable") or {}).get("checkpoint_id")


def _calling_node(config: RunnableConfig | None) -> NodeContext | None:
    """The node this call is made from, if any, in this event loop's thread."""
    ctx = current.get()
    if ctx is None and isinstance(config, dict):
        configurable = config.get("configurable")
        if isinstance(configurable, dict):
            ctx = configurable.get(CONFIG_KEY_NODE)
    if ctx is None or threading.get_ident() != ctx.run.loop_thread:
        return None
    return ctx


class _NestedOptions:
    """The run options of a graph called from inside a node (a child run): each one the
    call passes, else what the child takes from its parent run or its own compile."""

    __slots__ = (
        "context",
        "control",
        "durability",
        "interrupt_after",
        "interrupt_before",
        "printed",
    )

    def __init__(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        options: dict[str, Any],
        outer: RunOptions,
    ) -> None:
        self.context = outer.context
        if "context" in options and (context := options.pop("context")) is not None:
            self.context = graph._coerce_context(context)
        self.control = outer.control
        if (control := options.pop("control", None)) is not None:
            if not isinstance(control, RunControl):
                raise TypeError(f"control must be a RunControl, not {type(control).__name__}")
            self.control = control
        self.durability: Durability | None = options.pop("durability", None)
        if self.durability not in (None, "sync", "async", "exit"):
            raise ValueError(
                f"durability must be 'sync', 'async' or 'exit', not {self.durability!r}"
            )
        self.interrupt_before = graph.interrupt_before_nodes
        self.interrupt_after = graph.interrupt_after_nodes
        saver = outer.persist.saver if outer.persist is not None else None
        if (before := options.pop("interrupt_before", None)) is not None:
            self.interrupt_before = check_interrupt_nodes(
                graph.nodes, "interrupt_before", before, saver, required=False
            )
        if (after := options.pop("interrupt_after", None)) is not None:
            self.interrupt_after = check_interrupt_nodes(
                graph.nodes, "interrupt_after", after, saver, required=False
            )
        debug, print_mode = options.pop("debug", None), options.pop("print_mode", ())
        printed = ("updates", "values") if debug or graph.debug else print_mode
        self.printed: frozenset[str] = _check_modes(printed)[0] if printed else frozenset()
        _reject_unknown(options, "ainvoke")


_TO_CALLER = frozenset(("messages", "tools"))


def _streamed_to_caller(
    options: RunOptions, parent: NodeContext, config: RunnableConfig | None, token: Any = None
) -> RunOptions:
    """A graph a node runs as a run of its own (``stream()`` / ``astream()`` in a node,
    or ``invoke()`` on a thread of its own) streams to the caller's stream too when that
    takes subgraph chunks, as in LangGraph: every chunk the caller's modes ask for, under
    the node's namespace, as a subgraph's (LangGraph streams a graph called in a node to
    both); when the call addresses a thread of its own, only the chat tokens and tool
    events (LangGraph's callbacks carry them; its stream stays its own), under the
    graph's own root. The run's own stream, if any, is unchanged. ``token``: the
    caller's event loop, when the run has one of its own (sync ``stream``).
    """
    outer = parent.run.stream
    own_lineage = _own_lineage(config)
    modes = outer.modes & _TO_CALLER if own_lineage else outer.modes
    inner = options.stream
    if not modes or not outer.subgraphs or outer.events or inner.events:
        return options
    to_caller = outer.sink
    if token is not None:
        outer_sink = outer.sink

        def to_caller(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
            anyio.from_thread.run_sync(outer_sink, ns, mode, chunk, token=token)

    prefix = () if own_lineage else tuple(parent.checkpoint_ns.split("|"))
    if inner.output is None:  # (nobody streams the run itself)

        def forward(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
            to_caller(prefix + ns, mode, chunk)

        return dataclasses.replace(options, stream=StreamOptions(outer.output, modes, forward))
    own_sink, own_modes = inner.sink, inner.modes

    def tee(ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        if mode in own_modes:
            own_sink(ns, mode, chunk)
        if mode in modes:
            to_caller(prefix + ns, mode, chunk)

    stream = dataclasses.replace(inner, modes=own_modes | modes, sink=tee)
    return dataclasses.replace(options, stream=stream)


_COORDINATES = ("thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map")


def _own_lineage(config: RunnableConfig | None) -> bool:
    """Whether a config given to a call inside a node addresses its own checkpoints (a
    node's own config, passed on, does not: it carries the node)."""
    configurable = (config or {}).get("configurable") or {}
    if CONFIG_KEY_NODE in configurable:
        return False
    return any(configurable.get(key) for key in _COORDINATES)


def _typed_parts(version: Any) -> bool:
    """``version=``: whether the run streams LangGraph 1.2's typed parts ("v2")."""
    if version not in ("v1", "v2"):
        raise ValueError(
            f"version must be 'v1' (chunks as before) or 'v2' (typed stream parts), not {version!r}"
        )
    return bool(version == "v2")


def _as_class(schema: StateSchema) -> Callable[..., Any] | None:
    """The class ``version="v2"`` builds values of this schema as (LangGraph's
    ``_pick_mapper``): a pydantic model or a dataclass, else None (the dict as is)."""
    return (
        cast(Callable[..., Any], schema.cls) if schema.kind in ("pydantic", "dataclass") else None
    )


def _reject_unknown(kwargs: dict[str, Any], api: str) -> None:
    if kwargs:
        raise TypeError(
            f"{api} got unsupported arguments: {', '.join(sorted(kwargs))}; the supported "
            "options are durability, interrupt_before, interrupt_after, context, control, "
            "debug, print_mode and version"
        )


_T = TypeVar("_T")


def _run_sync(call: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``call`` to its end in a private event loop, in this thread.

    Called from async code (LangGraph allows a sync ``invoke`` there), the private loop
    runs in a thread of its own, on the caller's backend, and this thread waits for it: the
    caller's event loop is blocked meanwhile, as with LangGraph, and nothing of the run is
    left running when this returns.
    """
    backend = running_backend()
    if backend is None:
        return anyio.run(call)
    sync_api = sync_api_run.get()

    def in_thread() -> _T:
        sync_api_run.set(sync_api)  # as in the calling thread (a fresh thread's context)
        return anyio.run(call, backend=backend)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="scopegraph-sync") as pool:
        return pool.submit(in_thread).result()


def _warn_events_v1() -> None:
    """LangChain's deprecation warning for ``astream_events(version="v1")`` (its own
    class when langchain_core is installed)."""
    category: type[Warning] = integration("langchain deprecation warning") or DeprecationWarning
    warnings.warn(
        "astream_events version='v1' is deprecated. Use version='v2' or astream instead.",
        category,
        stacklevel=3,
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
