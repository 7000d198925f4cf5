"""``adopt(graph)``: a graph built with LangGraph, rebuilt to run on scopegraph's engine.

LangGraph's ``StateGraph`` records a graph as tables (``nodes``, ``edges``,
``waiting_edges``, ``branches``, ``channels``, ``managed``, the schemas), and scopegraph's
builder keeps the same tables. :func:`adopt` copies them across, node by node:

- a node's function: LangGraph wraps each one in a ``RunnableCallable``, which calls
  ``func`` (sync) or ``afunc`` (async) with the keyword arguments its ``func_accepts``
  table lists (``config``, ``writer``, ``runtime``, ``error``, ``store``; ``previous``,
  which is ``None`` in a graph). The adopted node calls the
  same function with the same arguments, taken from scopegraph's run. ``ToolNode`` and the
  nodes of ``create_agent`` / ``create_react_agent`` are ``RunnableCallable`` s too. A
  runnable of another kind (a LangChain ``RunnableSequence``...) stays a runnable node.
- what a node returns: LangGraph's ``Command``, ``Send`` and ``Overwrite`` become
  scopegraph's (a node written for LangGraph imports LangGraph's types);
- conditional edges (``BranchSpec``: the path function, its path map, its input schema),
  edges, joins (``waiting_edges``), subgraphs (adopted in turn), retry, cache, timeout
  and trace policies, ``defer``, metadata, destinations, error handlers, node defaults;
- the state, input, output and context schemas, whose reducers scopegraph reads from the
  same annotations (each LangGraph channel is checked against scopegraph's reading);
- compile options: the store (LangGraph's ``InMemoryStore`` becomes scopegraph's), the
  checkpointer (LangGraph's ``InMemorySaver`` becomes scopegraph's,
  one for each LangGraph saver; others are refused, pass one of scopegraph's savers with
  ``adopt(graph, checkpointer=...)``), ``interrupt_before`` / ``interrupt_after``, the
  cache (LangGraph's ``InMemoryCache`` becomes scopegraph's), ``name``, ``debug``, and
  the compiled graph's ``config`` (``with_config``) and ``step_timeout``. Stream
  transformers (``compile(transformers=...)``) are dropped: they shape
  ``astream_events(version="v3")`` only, which scopegraph does not offer.

What cannot be rebuilt raises :class:`AdoptionError` naming the part and the reason;
``bridge()`` then runs the graph on LangGraph's engine. The refusals: a graph built with
the Functional API or ``Pregel`` directly, channels scopegraph's state has no equivalent
for (``Topic``, ``NamedBarrierValue``, ``EphemeralValue(guard=False)``, custom channels),
managed values other than
``RemainingSteps`` / ``IsLastStep``, or savers, stores and caches other than the
in-memory ones.

Adoption happens once, when :func:`adopt` is called: later changes to the LangGraph
graph are not seen. The adopted graph's nodes pay one small conversion call per
result; graphs built with scopegraph's own ``StateGraph`` pay nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any, cast

from langchain_core.runnables import Runnable
from langchain_core.runnables.config import var_child_runnable_config
from langgraph import types as lg
from langgraph._internal._cache import default_cache_key as langgraph_cache_key
from langgraph._internal._retry import default_retry_on as langgraph_retry_on
from langgraph._internal._runnable import RunnableCallable, coerce_to_runnable
from langgraph.cache.memory import InMemoryCache as LangGraphInMemoryCache
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.channels.delta import DeltaChannel
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.channels.last_value import LastValue
from langgraph.channels.untracked_value import UntrackedValue
from langgraph.checkpoint.memory import InMemorySaver as LangGraphInMemorySaver
from langgraph.graph.state import CompiledStateGraph as LangGraphCompiled
from langgraph.graph.state import StateGraph as LangGraphBuilder
from langgraph.pregel import Pregel
from langgraph.store.memory import InMemoryStore as LangGraphInMemoryStore

from ._backend import running_on_asyncio
from ._compiled import CompiledStateGraph
from ._errors import AdoptionError, GraphValidationError
from ._graph import DEFAULT_ERROR_HANDLER, StateGraph, _command_routes
from ._pregel._foreign import asyncio_code
from ._pregel._node import in_worker_thread
from ._schema import StateSchema
from ._spec import Branch, NodeKind, NodeSpec
from ._types import (
    CachePolicy,
    Command,
    Overwrite,
    RetryPolicy,
    Send,
    TimeoutPolicy,
    TracePolicy,
    default_cache_key,
    default_retry_on,
)
from .cache.memory import InMemoryCache
from .checkpoint import BaseCheckpointSaver, InMemorySaver
from .store import BaseStore
from .store.memory import InMemoryStore

__all__ = ("AdoptedGraph", "adopt")

_KEEP: Any = object()
"""``adopt(checkpointer=...)`` not given: the graph's own saver, converted."""

_INJECTED = frozenset({"config", "writer", "runtime", "error", "store", "previous"})
"""The ``RunnableCallable.func_accepts`` keys an adopted node can be given."""

_MANAGED = frozenset({"RemainingStepsManager", "IsLastStepManager"})

_savers: weakref.WeakKeyDictionary[Any, InMemorySaver] = weakref.WeakKeyDictionary()
"""Each LangGraph ``InMemorySaver`` adopted so far and the scopegraph saver that
replaces it: graphs that shared a saver on LangGraph share one here too."""

_LANGGRAPH_TYPES = (lg.Command, lg.Send, lg.Overwrite)


def adopt(
    graph: Any, *, checkpointer: Any = _KEEP, store: Any = _KEEP
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Rebuild a LangGraph graph on scopegraph's engine (see the module docstring).

    Args:
        graph: a LangGraph ``StateGraph`` (compiled with defaults) or a compiled one
            (``StateGraph(...).compile(...)``, ``create_agent(...)``,
            ``create_react_agent(...)``).
        checkpointer: a scopegraph saver (or ``None`` / ``True`` / ``False``) to use
            instead of the graph's own.
        store: a scopegraph store (``scopegraph.store``), or None, to use instead of the
            graph's own.

    Returns:
        A scopegraph ``CompiledStateGraph`` with the same nodes, edges, state and options.

    Raises:
        AdoptionError: a part of the graph has no scopegraph equivalent; the message
            names it. ``scopegraph.langgraph.bridge(graph)`` runs such graphs.
        TypeError: ``graph`` is not a LangGraph graph.
    """
    if checkpointer is not _KEEP and not (
        checkpointer is None or isinstance(checkpointer, bool | BaseCheckpointSaver)
    ):
        raise TypeError(
            "adopt(checkpointer=...) takes a scopegraph saver (InMemorySaver, SqliteSaver, "
            f"PostgresSaver from scopegraph.checkpoint), True, False or None, not "
            f"{type(checkpointer).__name__}"
        )
    if store is not _KEEP and not (store is None or isinstance(store, BaseStore)):
        raise TypeError(
            "adopt(store=...) takes a scopegraph store (InMemoryStore, SqliteStore, "
            f"PostgresStore from scopegraph.store) or None, not {type(store).__name__}"
        )
    return _adopt(graph, checkpointer, store)


def _adopt(
    graph: Any, checkpointer: Any, store: Any = _KEEP
) -> CompiledStateGraph[Any, Any, Any, Any]:
    if isinstance(graph, LangGraphCompiled):
        builder, compiled = graph.builder, graph
    elif isinstance(graph, LangGraphBuilder):
        builder, compiled = graph, None
    elif isinstance(graph, Pregel):
        raise AdoptionError(
            f"graph {graph.get_name()!r} was not built with StateGraph (the Functional "
            "API's @entrypoint, or Pregel directly): scopegraph adopts StateGraph graphs "
            "only; run it with scopegraph.langgraph.bridge(graph)"
        )
    else:
        raise TypeError(
            f"adopt() takes a LangGraph StateGraph or compiled graph, not {type(graph).__name__}"
        )
    label = repr(compiled.get_name()) if compiled is not None else "(StateGraph)"
    where = f"LangGraph graph {label}"
    if compiled is not None:
        _check_compiled(compiled, builder, where)
    _check_channels(builder, where)

    try:
        target: StateGraph[Any, Any, Any, Any] = StateGraph(
            builder.state_schema,
            builder.context_schema,
            input_schema=builder.input_schema,
            output_schema=builder.output_schema,
        )
    except GraphValidationError as exc:
        raise AdoptionError(f"{where}: its state schema cannot be read: {exc}") from exc
    _check_reducers(builder, target, where)

    graph_retry = _retry(compiled.retry_policy) if compiled is not None else None
    graph_cache = _cache_policy(compiled.cache_policy) if compiled is not None else None
    for name, node in builder.nodes.items():
        spec = _node(name, node, builder, where)
        if spec.retry_policy is None and graph_retry:
            spec.retry_policy = graph_retry
        if spec.cache_policy is None and graph_cache is not None and not spec.is_error_handler:
            spec.cache_policy = graph_cache
        target.nodes[name] = spec
    target.edges.extend(sorted(builder.edges))
    target.waiting_edges.extend(sorted(builder.waiting_edges))
    for source, branches in builder.branches.items():
        target.branches[source] = [
            _branch(source, name, branch, builder, where) for name, branch in branches.items()
        ]
    if not builder.compiled:  # LangGraph applies its node defaults when it compiles
        _node_defaults(builder, target, where)

    if compiled is None:
        saver = None if checkpointer is _KEEP else checkpointer
        options: dict[str, Any] = {} if store is _KEEP else {"store": store}
    else:
        saver = _saver(compiled.checkpointer, where) if checkpointer is _KEEP else checkpointer
        options = {
            "interrupt_before": _interrupt_nodes(compiled.interrupt_before_nodes),
            "interrupt_after": _interrupt_nodes(compiled.interrupt_after_nodes),
            "cache": _cache(compiled.cache, where),
            "store": _store(compiled.store, where) if store is _KEEP else store,
            "debug": compiled.debug,
            "name": compiled.name,
        }
    try:
        adopted = target.compile(saver, **options)
    except (GraphValidationError, ValueError) as exc:
        raise AdoptionError(f"{where}: scopegraph refused the rebuilt graph: {exc}") from exc
    adopted.__class__ = AdoptedGraph  # compile() made it; the subclass adds no state
    if compiled is not None:
        if compiled.config:
            adopted.config = dict(compiled.config)  # type: ignore[assignment]
        adopted.step_timeout = compiled.step_timeout
    return adopted


class AdoptedGraph(CompiledStateGraph[Any, Any, Any, Any]):
    """A scopegraph compiled graph made by :func:`adopt`. Its run APIs also take
    LangGraph's ``Command`` as input (``ainvoke(Command(resume=...))`` from a program that
    imports ``langgraph.types``); ``invoke``, ``stream``, ``batch`` and ``abatch`` go
    through ``ainvoke`` / ``open_stream``."""

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return await super().ainvoke(_ours(input), config, **kwargs)

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return super().astream(_ours(input), config, **kwargs)

    def astream_events(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return super().astream_events(_ours(input), config, **kwargs)

    def open_stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return super().open_stream(_ours(input), config, **kwargs)

    def open_event_stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return super().open_event_stream(_ours(input), config, **kwargs)


# -- checks -------------------------------------------------------------------------------


def _check_compiled(compiled: Any, builder: Any, where: str) -> None:
    nodes = set(compiled.nodes) - {"__start__"}
    if nodes != set(builder.nodes):
        raise AdoptionError(
            f"{where}: its nodes ({sorted(nodes)}) differ from its builder's "
            f"({sorted(builder.nodes)}), changed after compile(): adopt the builder, or "
            "compile it again"
        )
    # compile(transformers=...) (create_agent sets some) shapes astream_events(version="v3")
    # only, which scopegraph refuses with an error: nothing that runs depends on them.


def _check_channels(builder: Any, where: str) -> None:
    for key, channel in builder.channels.items():
        kind = type(channel)
        if kind in (LastValue, BinaryOperatorAggregate, DeltaChannel, UntrackedValue):
            continue
        if kind is EphemeralValue and channel.guard:
            continue
        what = "EphemeralValue(guard=False)" if kind is EphemeralValue else kind.__name__
        raise AdoptionError(
            f"{where}: state key {key!r} is a LangGraph {what} channel, which "
            "scopegraph's state has no equivalent for (it has last-value keys, reducers, "
            "DeltaChannel, UntrackedValue and EphemeralValue): change the key's annotation, "
            "or bridge() the graph"
        )
    for key, managed in builder.managed.items():
        if getattr(managed, "__name__", None) not in _MANAGED:
            raise AdoptionError(
                f"{where}: state key {key!r} is managed by {managed!r}; scopegraph manages "
                "RemainingSteps and IsLastStep only: bridge() the graph"
            )


def _check_reducers(builder: Any, target: StateGraph[Any, Any, Any, Any], where: str) -> None:
    ours = target.channels
    for key, channel in builder.channels.items():
        mine = ours.get(key)
        if mine is None:
            continue  # a node's private input key, added with its input schema
        if isinstance(channel, EphemeralValue) != mine.ephemeral:
            raise AdoptionError(
                f"{where}: state key {key!r} is {'' if mine.ephemeral else 'not '}an "
                "EphemeralValue for scopegraph's reading of its annotation, but "
                f"{'not ' if mine.ephemeral else ''}for LangGraph: bridge() the graph"
            )
        theirs = _reducer_of(channel)
        if mine.reducer is not theirs and not (
            theirs is not None and mine.reducer is not None and _same_reducer(mine, theirs)
        ):
            raise AdoptionError(
                f"{where}: scopegraph reads state key {key!r} with reducer "
                f"{mine.reducer!r}, LangGraph with {theirs!r}: bridge() the graph"
            )


def _reducer_of(channel: Any) -> Any:
    """A LangGraph channel's reducer function (None for a last-value key)."""
    if isinstance(channel, BinaryOperatorAggregate):
        return channel.operator
    if isinstance(channel, DeltaChannel):
        return channel.reducer
    return None


def _same_reducer(mine: Any, theirs: Any) -> bool:
    """scopegraph wraps some reducers (a DeltaChannel's batch reducer) in an object that
    keeps the function as ``reducer`` or ``__wrapped__``."""
    reducer = mine.reducer
    return bool(
        getattr(reducer, "__wrapped__", None) is theirs
        or getattr(reducer, "reducer", None) is theirs
    )


# -- nodes --------------------------------------------------------------------------------


def _node(name: str, node: Any, builder: Any, where: str) -> NodeSpec:
    runnable = node.runnable
    what = f"{where}, node {name!r}"
    if isinstance(runnable, Pregel):  # a subgraph: adopted in turn
        spec = NodeSpec(
            name, _adopt(runnable, _KEEP), "graph", False, False, False, False, None, None, {}, None
        )
    elif _plain_callable(runnable):
        spec = _callable_node(name, runnable, what)
    elif isinstance(runnable, Runnable):
        spec = NodeSpec(
            name,
            _ConvertingRunnable(runnable),
            "runnable",
            False,
            False,
            False,
            False,
            None,
            None,
            {},
            None,
        )
    else:  # pragma: no cover - LangGraph coerces every node to a Runnable
        raise AdoptionError(f"{what} is a {type(runnable).__name__}, not a Runnable")
    spec.trace_policy = _trace_policy(getattr(node, "trace_policy", None))
    spec.retry_policy = _retry(node.retry_policy)
    spec.cache_policy = _cache_policy(node.cache_policy)
    spec.timeout = _timeout(node.timeout)
    spec.defer = bool(node.defer)
    spec.metadata = dict(node.metadata or {})
    spec.is_error_handler = bool(node.is_error_handler)
    spec.error_handler = node.error_handler_node
    if node.input_schema is not None and node.input_schema is not builder.state_schema:
        try:
            spec.input_schema = StateSchema(node.input_schema)
        except GraphValidationError as exc:
            raise AdoptionError(f"{what}: its input schema cannot be read: {exc}") from exc
    if node.ends:
        spec.destinations, spec.goto_anywhere = tuple(node.ends), False
        if isinstance(node.ends, dict):
            spec.destination_labels = {str(k): str(v) for k, v in node.ends.items()}
    return spec


def _plain_callable(runnable: Any) -> bool:
    """A ``RunnableCallable`` whose calls are RunnableCallable's own (a subclass such as
    ``ToolNode`` qualifies unless it overrides them): calling its function directly with
    the arguments of its ``func_accepts`` is what its ``invoke`` / ``ainvoke`` do."""
    kind = type(runnable)
    return (
        isinstance(runnable, RunnableCallable)
        and kind.invoke is RunnableCallable.invoke
        and kind.ainvoke is RunnableCallable.ainvoke
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Twins:
    """What a ``RunnableCallable`` calls: its sync and async functions (either may be
    None) and the keyword arguments it always passes."""

    func: Callable[..., Any] | None
    afunc: Callable[..., Any] | None
    fixed: dict[str, Any]

    @property
    def main(self) -> Callable[..., Any]:
        main = self.afunc or self.func
        assert main is not None
        return main

    @property
    def is_async(self) -> bool:
        return self.afunc is not None


def _function_of(runnable: RunnableCallable, what: str) -> _Twins:
    if runnable.explode_args:
        raise AdoptionError(
            f"{what} takes exploded arguments (a Functional API task), which a graph "
            "node cannot be given: bridge() the graph"
        )
    accepts = runnable.func_accepts
    unknown = set(accepts) - _INJECTED
    if unknown:
        raise AdoptionError(
            f"{what} takes {sorted(unknown)}, which scopegraph does not inject: bridge() the graph"
        )
    fixed = dict(runnable.kwargs)
    if "previous" in accepts:  # LangGraph passes runtime.previous: None in a graph
        fixed["previous"] = None
    afunc = runnable.afunc
    if afunc is not None and _in_executor(afunc):
        afunc = None  # a sync function: scopegraph runs it in a worker thread itself
    return _Twins(runnable.func, afunc, fixed)


def _in_executor(afunc: Any) -> bool:
    """LangGraph's async twin of a sync function: ``partial(run_in_executor, None, f)``."""
    return (
        isinstance(afunc, functools.partial)
        and getattr(afunc.func, "__name__", "") == "run_in_executor"
    )


def _callable_node(name: str, runnable: RunnableCallable, what: str) -> NodeSpec:
    twins = _function_of(runnable, what)
    accepts = runnable.func_accepts
    declared, anywhere = _command_routes(twins.main)
    if runnable.trace:
        # A RunnableCallable made with trace=True (create_react_agent's agent node) opens
        # a LangChain run of its own around the call: LangGraph's events show it.
        fn, kind, config_kw = _traced(runnable, twins), "async", True
    else:
        fn, config_kw = _converting(twins), "config" in accepts
        kind = "async" if twins.is_async else "sync"
    tools = getattr(runnable, "tools_by_name", None)
    if tools is not None:  # a ToolNode: get_graph() lists its tools, as LangGraph's does
        fn.tools_by_name = tools  # type: ignore[attr-defined]
    return NodeSpec(
        name=name,
        fn=fn,
        kind=cast(NodeKind, kind),
        config_kw=config_kw,
        config_pos=False,
        writer_kw="writer" in accepts,
        runtime_kw="runtime" in accepts,
        retry_policy=None,
        timeout=None,
        metadata={},
        destinations=declared,
        goto_anywhere=anywhere,
        error_kw="error" in accepts,
        store_kw="store" in accepts,
    )


def _traced(runnable: RunnableCallable, twins: _Twins) -> Callable[..., Any]:
    """The node function of a traced ``RunnableCallable``: its own ``ainvoke``
    (:func:`asyncio_code`, on either backend), given explicitly the arguments scopegraph
    injects, so that it opens its LangChain run as on LangGraph; its ``invoke`` in a
    worker thread for a sync function on trio."""
    func, afunc, fixed = twins.func, twins.afunc, twins.fixed

    async def call_traced(state: Any, *, config: Any, **injected: Any) -> Any:
        if afunc is not None or running_on_asyncio():
            call = functools.partial(runnable.ainvoke, state, config, **injected, **fixed)
            return await _langchain_async(call)
        assert func is not None
        _callbacks_on_loop()
        bound = functools.partial(runnable.invoke, state, config, **injected, **fixed)
        return _ours(await in_worker_thread(bound))

    for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
        if hasattr(twins.main, attribute):
            setattr(call_traced, attribute, getattr(twins.main, attribute))
    return call_traced


def _converting(twins: _Twins) -> Callable[..., Any]:
    """The function the adopted node (or path) calls, its result given scopegraph's
    types (see :func:`_ours`).

    With both twins (``ToolNode``, the agents' nodes: LangChain's code), the async one runs
    as LangGraph's ``ainvoke`` runs it, on either backend (:func:`asyncio_code`: on trio on
    an asyncio loop in a worker thread, so that async-only tools run there too). A lone
    async function (yours) is awaited on the run's backend, a lone sync one runs in a
    worker thread."""
    func, afunc, fixed = twins.func, twins.afunc, twins.fixed
    call: Callable[..., Any]
    if afunc is not None and func is not None:

        async def call_either(*args: Any, **kwargs: Any) -> Any:
            return await _langchain_async(functools.partial(afunc, *args, **kwargs, **fixed))

        call = call_either
    elif afunc is not None:

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return _ours(await afunc(*args, **kwargs, **fixed))

        call = call_async
    else:
        assert func is not None

        def call_sync(*args: Any, **kwargs: Any) -> Any:
            return _ours(func(*args, **kwargs, **fixed))

        call = call_sync
    main = twins.main
    for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
        if hasattr(main, attribute):
            setattr(call, attribute, getattr(main, attribute))
    return call


async def _langchain_async(call: Callable[[], Any]) -> Any:
    """LangChain's async code of a node (:func:`asyncio_code`), its result given
    scopegraph's types."""
    if not running_on_asyncio():
        _callbacks_on_loop()  # it runs on an asyncio loop in a worker thread
    return _ours(await asyncio_code(call))


def _callbacks_on_loop() -> None:
    """Make the node's LangChain callback handler now, on the event loop's thread, before
    the node's code runs in a worker thread: the handler keeps the loop's token,
    through which callbacks from threads anyio did not start (``ToolNode`` runs each tool
    in an executor thread) reach the run's event stream. Made lazily, in such a thread,
    it would have no token and those events would be lost."""
    config = var_child_runnable_config.get()
    callbacks = config.get("callbacks") if config is not None else None
    if callbacks is not None:
        getattr(callbacks, "handlers", None)  # scopegraph's manager builds its state


class _ConvertingRunnable:
    """A LangChain runnable node (not a ``RunnableCallable``) whose result is given
    scopegraph's types; its ``ainvoke`` runs as :func:`asyncio_code` runs it."""

    def __init__(self, runnable: Runnable[Any, Any]) -> None:
        self.runnable = runnable

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runnable, name)

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        call = functools.partial(self.runnable.ainvoke, input, config, **kwargs)
        return await _langchain_async(call)


def _ours(value: Any) -> Any:
    """LangGraph's ``Command``, ``Send`` and ``Overwrite`` in a node's or a path's result,
    as scopegraph's (anything else as it is)."""
    kind = type(value)
    if kind is dict:
        for item in value.values():
            if isinstance(item, lg.Overwrite):
                return {k: _ours(v) for k, v in value.items()}
        return value
    if kind is list or kind is tuple:
        for item in value:
            if isinstance(item, _LANGGRAPH_TYPES):
                return kind(_ours(v) for v in value)
        return value
    if isinstance(value, lg.Command):
        goto = value.goto
        if isinstance(goto, list | tuple):
            goto = type(goto)(_ours(g) for g in goto)
        elif isinstance(goto, lg.Send):
            goto = _ours(goto)
        return Command(
            graph=value.graph, update=_ours(value.update), resume=value.resume, goto=goto
        )
    if isinstance(value, lg.Send):
        return Send(value.node, value.arg, timeout=_timeout(getattr(value, "timeout", None)))
    if isinstance(value, lg.Overwrite):
        return Overwrite(value.value)
    return value


# -- conditional edges ---------------------------------------------------------------------


def _branch(source: str, name: str, branch: Any, builder: Any, where: str) -> Branch:
    what = f"{where}, conditional edge {name!r} of {source!r}"
    path = branch.path
    config_kw = False
    if _plain_callable(path):
        twins = _function_of(path, what)
        is_async = twins.is_async
        takes = set(path.func_accepts) - {"config"}
        if takes - {"previous"}:
            raise AdoptionError(
                f"{what}: its path function takes {sorted(takes)}; scopegraph gives path "
                "functions the state and config only: bridge() the graph"
            )
        config_kw = "config" in path.func_accepts
        call = _converting(twins)
    elif isinstance(path, Runnable):
        runnable = path

        async def call(state: Any, config: Any) -> Any:
            return _ours(await runnable.ainvoke(state, config))

        is_async, config_kw = True, True
    else:  # pragma: no cover - LangGraph coerces every path to a Runnable
        raise AdoptionError(f"{what}: its path is a {type(path).__name__}, not a Runnable")
    schema = branch.input_schema
    try:
        input_schema = (
            StateSchema(schema)
            if schema is not None and schema is not builder.state_schema
            else None
        )
    except GraphValidationError as exc:
        raise AdoptionError(f"{what}: its input schema cannot be read: {exc}") from exc
    ends = dict(branch.ends) if branch.ends is not None else None
    traced = not isinstance(path, RunnableCallable) or path.trace
    return Branch(source, call, ends, name, is_async, config_kw, False, input_schema, traced)


# -- policies and options --------------------------------------------------------------------


def _retry(given: Any) -> tuple[RetryPolicy, ...] | None:
    if not given:
        return None
    many = [given] if isinstance(given, lg.RetryPolicy) else list(given)
    return tuple(
        RetryPolicy(
            initial_interval=p.initial_interval,
            backoff_factor=p.backoff_factor,
            max_interval=p.max_interval,
            max_attempts=p.max_attempts,
            jitter=p.jitter,
            retry_on=default_retry_on if p.retry_on is langgraph_retry_on else p.retry_on,
        )
        for p in many
    )


def _trace_policy(given: Any) -> TracePolicy | None:
    if given is None:
        return None
    return TracePolicy(process_inputs=given.process_inputs, process_outputs=given.process_outputs)


def _cache_policy(given: Any) -> CachePolicy | None:
    if given is None:
        return None
    key_func = given.key_func
    if key_func is langgraph_cache_key:
        key_func = default_cache_key
    return CachePolicy(key_func=key_func, ttl=given.ttl)


def _timeout(given: Any) -> TimeoutPolicy | None:
    if given is None or isinstance(given, TimeoutPolicy):
        return given
    if isinstance(given, lg.TimeoutPolicy):
        return TimeoutPolicy(
            run_timeout=given.run_timeout,
            idle_timeout=given.idle_timeout,
            refresh_on=given.refresh_on,
        )
    return TimeoutPolicy.coerce(given)


def _node_defaults(builder: Any, target: StateGraph[Any, Any, Any, Any], where: str) -> None:
    """LangGraph's ``set_node_defaults`` of a builder not compiled yet (compiling applies
    them to its nodes, and adds the default error handler as a node)."""
    defaults = builder._node_defaults
    target.set_node_defaults(
        retry_policy=_retry(defaults.retry_policy),
        cache_policy=_cache_policy(defaults.cache_policy),
        timeout=_timeout(defaults.timeout),
    )
    if defaults.error_handler is None:
        return
    if DEFAULT_ERROR_HANDLER in target.nodes:
        raise AdoptionError(
            f"{where}: a node is named {DEFAULT_ERROR_HANDLER!r}, the name of the default "
            "error handler's node: rename it"
        )
    handler = coerce_to_runnable(defaults.error_handler, name=DEFAULT_ERROR_HANDLER, trace=False)
    if not isinstance(handler, RunnableCallable) or not _plain_callable(handler):
        raise AdoptionError(f"{where}: its default error handler must be a function")
    spec = _callable_node(DEFAULT_ERROR_HANDLER, handler, f"{where}, default error handler")
    spec.is_error_handler = True
    for node in target.nodes.values():
        if not node.is_error_handler and node.error_handler is None:
            node.error_handler = DEFAULT_ERROR_HANDLER
    target.nodes[DEFAULT_ERROR_HANDLER] = spec


def _interrupt_nodes(given: Any) -> Sequence[str] | str | None:
    if given == "*":
        return "*"
    return list(given) or None


def _saver(given: Any, where: str) -> Any:
    if given is None or isinstance(given, bool):
        return given
    if isinstance(given, LangGraphInMemorySaver):
        if given.storage:
            raise AdoptionError(
                f"{where}: its InMemorySaver already holds threads, which scopegraph's "
                "saver cannot read: adopt the graph before running it, or bridge() it"
            )
        saver = _savers.get(given)
        if saver is None:
            saver = _savers[given] = InMemorySaver()
        return saver
    raise AdoptionError(
        f"{where} has a {type(given).__name__} checkpointer, whose threads are in "
        "LangGraph's checkpoint format: pass one of scopegraph's savers, "
        "adopt(graph, checkpointer=SqliteSaver(...) or PostgresSaver(...)), or bridge() it"
    )


def _store(given: Any, where: str) -> Any:
    if given is None or isinstance(given, BaseStore):
        return given
    if isinstance(given, LangGraphInMemoryStore):
        if given._data:
            raise AdoptionError(
                f"{where}: its InMemoryStore already holds items, which adopt() does not "
                "copy: adopt the graph before using it, or pass adopt(graph, store=...)"
            )
        index: Any = None
        if given.index_config:  # without LangGraph's own "__tokenized_fields"
            index = {k: v for k, v in given.index_config.items() if not k.startswith("__")}
        return InMemoryStore(index=index)
    raise AdoptionError(
        f"{where} has a {type(given).__name__} store: adopt() converts LangGraph's "
        "InMemoryStore only; pass one of scopegraph's, adopt(graph, store=SqliteStore(...) "
        "or PostgresStore(...)), or bridge() it"
    )


def _cache(given: Any, where: str) -> Any:
    if given is None:
        return None
    if isinstance(given, LangGraphInMemoryCache):
        return InMemoryCache()
    raise AdoptionError(
        f"{where} has a {type(given).__name__} cache: adopt() converts LangGraph's "
        "InMemoryCache only; compile it with that, or bridge() it"
    )
