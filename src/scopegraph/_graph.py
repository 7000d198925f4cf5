"""``StateGraph``: the builder. It records nodes and edges, checks them, and compiles."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
import warnings
from collections.abc import Callable, Hashable, Sequence
from datetime import timedelta
from types import UnionType
from typing import Any, Generic, Literal, Protocol, Self

from ._backend import running_on_asyncio
from ._compiled import CompiledStateGraph
from ._constants import END, RESERVED_CHARS, RESERVED_NAMES, START
from ._errors import GraphValidationError, NodeError
from ._schema import (
    Channel,
    IsLastStepManager,
    RemainingStepsManager,
    StateSchema,
    is_keyed_schema,
)
from ._spec import (
    Branch,
    BuilderTables,
    NodeKind,
    NodeSpec,
    builder_channels,
    check_interrupt_nodes,
)
from ._types import CachePolicy, Command, RetryPolicy, RunnableConfig, TimeoutPolicy, TracePolicy
from ._typing import ContextT, InputT, OutputT, StateT
from .cache import BaseCache
from .checkpoint._base import BaseCheckpointSaver

__all__ = ("Finding", "StateGraph", "check")


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """A valid but suspicious part of a graph, found by :func:`check`.

    LangGraph accepts these graphs and so does ``compile()``; ``compile(strict=True)``
    raises GraphValidationError with the findings' messages instead.
    """

    kind: Literal["no_way_out", "no_way_in"]
    """``"no_way_out"``: no edge leaves the node and it declares no Command destinations
    (its branch of the run ends there). ``"no_way_in"``: nothing leads to the node (it
    never runs)."""
    node: str
    """The node's name."""
    message: str
    """What is wrong and how to fix it."""

    def __str__(self) -> str:
        return self.message


def check(graph: StateGraph | CompiledStateGraph) -> list[Finding]:
    """The findings of the opt-in checks on ``graph`` (a builder or a compiled graph).

    Returns an empty list for a graph that passes them. The same checks run, and raise,
    with ``compile(strict=True)``; a plain ``compile()`` accepts these graphs as LangGraph
    does.
    """
    builder: BuilderTables = graph.builder if isinstance(graph, CompiledStateGraph) else graph
    return _findings(builder)


def _findings(builder: BuilderTables) -> list[Finding]:
    found: list[Finding] = []
    nodes = builder.nodes
    # A node with no way out: no edge, conditional edge or join leaves it, and it does
    # not declare (destinations= or a Command[...] return annotation) where a Command
    # it returns may go. LangGraph lets such a node end its branch silently.
    sources = {s for s, _ in builder.edges} | set(builder.branches)
    sources.update(s for starts, _ in builder.waiting_edges for s in starts)
    for node in nodes.values():
        if node.name in sources or node.destinations is not None or node.is_error_handler:
            continue
        found.append(
            Finding(
                "no_way_out",
                node.name,
                f"node {node.name!r} has no way out: no edge or conditional edge leaves it. "
                f"Add graph.add_edge({node.name!r}, END) to finish there; if the node routes "
                f"with Command(goto=...), declare add_node({node.name!r}, fn, "
                "destinations=(...)) or annotate its return type as Command[Literal[...]]",
            )
        )

    # Reachability: only decidable where every route is declared.
    dynamic = any(b.path_map is None for bs in builder.branches.values() for b in bs) or any(
        n.goto_anywhere for n in nodes.values()
    )
    if not dynamic:
        targets = {e for _, e in builder.edges} | {e for _, e in builder.waiting_edges}
        for bs in builder.branches.values():
            for b in bs:
                targets.update((b.path_map or {}).values())
        for n in nodes.values():
            targets.update(n.destinations or ())
        for name, node in nodes.items():
            if name not in targets and not node.is_error_handler:
                found.append(
                    Finding(
                        "no_way_in",
                        name,
                        f"node {name!r} has no way in: no edge, conditional edge or "
                        f"declared destination leads to it. Add graph.add_edge(..., {name!r}) "
                        "or remove the node",
                    )
                )
    return found


def _takes_runtime(fn: Callable[..., Any]) -> bool:
    """Whether a node takes a ``runtime`` parameter (LangGraph's ``Runtime``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "runtime" in params and params["runtime"].kind != inspect.Parameter.POSITIONAL_ONLY


_STORE_HINTS = frozenset({"BaseStore", "Optional[BaseStore]", "BaseStore | None"})


def _takes_store(fn: Callable[..., Any]) -> bool:
    """Whether a node takes ``store`` as LangGraph injects it: a ``store`` parameter
    without annotation or annotated ``BaseStore`` (or ``BaseStore | None``), scopegraph's
    or LangGraph's."""
    try:
        param = inspect.signature(fn).parameters.get("store")
    except (TypeError, ValueError):
        return False
    if param is None or param.kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.VAR_KEYWORD,
    ):
        return False
    hint = param.annotation
    if hint is inspect.Parameter.empty:
        return True
    if isinstance(hint, str):
        return hint.replace("typing.", "").split(".")[-1] in _STORE_HINTS or hint in _STORE_HINTS
    options = typing.get_args(hint) or (hint,)
    names = {getattr(option, "__name__", None) for option in options if option is not type(None)}
    return names == {"BaseStore"}


def _accepts(fn: Callable[..., Any]) -> tuple[bool, bool, bool]:
    """(config by keyword, config positionally, writer by keyword) for a node or path."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False, False, False
    params = sig.parameters
    by_kw = "config" in params and params["config"].kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )
    positional = [
        p
        for p in params.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    by_position = (
        not by_kw
        and len(positional) >= 2
        and positional[1].default is inspect.Parameter.empty
        and positional[1].name not in ("writer", "store", "runtime")
    )
    writer = "writer" in params and params["writer"].kind != inspect.Parameter.POSITIONAL_ONLY
    return by_kw, by_position, writer


def _takes_node_error(fn: Callable[..., Any]) -> bool:
    """Whether a function takes LangGraph's ``error: NodeError`` (an error handler)."""
    try:
        param = inspect.signature(fn).parameters.get("error")
    except (TypeError, ValueError):
        return False
    if param is None or param.kind == inspect.Parameter.POSITIONAL_ONLY:
        return False
    hint = param.annotation
    return hint is NodeError or (isinstance(hint, str) and hint.split(".")[-1] == "NodeError")


def _input_annotation(fn: Callable[..., Any], state_cls: Any) -> StateSchema | None:
    """The schema a node's first parameter is annotated with, when it is a state schema
    class (TypedDict, dataclass, pydantic model) other than the graph's."""
    try:
        params = list(inspect.signature(fn).parameters.values())
        call = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
        hints = typing.get_type_hints(call)
    except Exception:  # no signature, or annotations that cannot be resolved: none
        return None
    if not params or params[0].name not in hints:
        return None
    hint = hints[params[0].name]
    if hint is state_cls or not is_keyed_schema(hint):
        return None
    try:
        return StateSchema(hint)
    except GraphValidationError:
        return None


def _runnable_path(runnable: Any) -> Callable[..., Any]:
    """A conditional edge's path given as a LangChain ``Runnable`` (as LangGraph's
    ``RunnableCallable`` edges of ``create_agent``), named as LangGraph names it: its
    ``ainvoke`` on asyncio, its ``invoke`` on trio (LangChain's async code is asyncio's)."""

    async def path(state: Any, config: RunnableConfig) -> Any:
        if running_on_asyncio():
            return await runnable.ainvoke(state, config)
        return runnable.invoke(state, config)

    path.__name__ = getattr(runnable, "name", None) or "condition"
    return path


def _is_async_callable(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects
    return call is not None and inspect.iscoroutinefunction(call)


def _is_command_type(tp: Any) -> bool:
    # Also LangGraph's own Command, for graphs that keep their LangGraph annotations.
    return tp is Command or getattr(tp, "__name__", None) == "Command"


def _command_routes(fn: Any) -> tuple[tuple[str, ...] | None, bool]:
    """What a node's return annotation says about the ``Command`` it may return.

    Returns ``(destinations, anywhere)``: the node names of a
    ``-> Command[Literal["a", "b"]]`` annotation (``()`` for a bare ``-> Command``, ``None``
    when the annotation does not mention Command), and whether the node may send a
    Command to nodes nobody declared (no return annotation, or a bare ``Command``).
    """
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return None, True
    ret = hints.get("return")
    if ret is None or ret is Any or ret is object:
        return None, True
    candidates = typing.get_args(ret) if typing.get_origin(ret) in (typing.Union, UnionType) else ()
    for tp in (ret, *candidates):
        # Command[...] first: the alias also answers to Command's __name__.
        if _is_command_type(typing.get_origin(tp)):
            args = typing.get_args(tp)
            if args and typing.get_origin(args[0]) is Literal:
                return tuple(str(a) for a in typing.get_args(args[0])), False
            return (), True
        if _is_command_type(tp):
            return (), True
    return None, False


class RunnableLike(Protocol):
    """A LangChain ``Runnable`` (LangGraph's ``ToolNode``, ``create_agent``'s nodes and
    edges): what has ``invoke`` and ``ainvoke``."""

    def invoke(self, input: Any, config: Any = None, /) -> Any: ...

    async def ainvoke(self, input: Any, config: Any = None, /) -> Any: ...


NodeAction = Callable[..., Any] | CompiledStateGraph | RunnableLike
"""What a node runs: a function (sync or async), a compiled graph (a subgraph) or a
LangChain ``Runnable``."""


def _node_name(node: str | NodeAction, action: NodeAction | None) -> tuple[str, NodeAction]:
    """``add_node(name, fn)`` or ``add_node(fn)``: the node's name and function.

    As LangGraph, ``add_node(fn)`` names the node after ``fn.__name__`` (``"<lambda>"``
    for a lambda), a compiled graph or a runnable after its name, and any other callable
    object after its class.
    """
    if action is None:
        if isinstance(node, str):
            raise GraphValidationError(
                f"add_node({node!r}) has no function; pass one: add_node({node!r}, fn)"
            )
        if isinstance(node, CompiledStateGraph):
            return node.name, node
        get_name = getattr(node, "get_name", None)
        name = get_name() if callable(get_name) else None
        if not isinstance(name, str):
            name = getattr(node, "__name__", type(node).__name__)
        return str(name), node
    if not isinstance(node, str):
        raise GraphValidationError(
            f"add_node's first argument must be the node name (a str), not {type(node).__name__}"
        )
    return _plain(node), action


def _plain(name: str) -> str:
    """A node name as a plain ``str`` (a ``str`` enum member gives its value)."""
    return name if type(name) is str else str.__str__(name)


def _retry_policies(
    name: str, given: RetryPolicy | Sequence[RetryPolicy] | None
) -> tuple[RetryPolicy, ...] | None:
    """One policy, or several: the first whose retry_on matches an error decides."""
    if given is None:
        return None
    # A RetryPolicy is itself a NamedTuple: test for it first.
    many = (given,) if isinstance(given, RetryPolicy) else tuple(given)
    if not many or not all(isinstance(p, RetryPolicy) for p in many):
        raise GraphValidationError(
            f"node {name!r}: retry_policy must be a scopegraph.RetryPolicy or a "
            f"non-empty list of them, not {given!r}"
        )
    return tuple(many)


def _is_runnable(action: Any) -> bool:
    """A LangChain Runnable (or another object with ``ainvoke`` that is not callable); a
    callable that merely has the attribute (a ``Mock``) is called as a function."""
    if not hasattr(action, "ainvoke") or inspect.isfunction(action):
        return False
    return not callable(action) or any(c.__name__ == "Runnable" for c in type(action).__mro__)


def _inspect_node(name: str, action: Any, state_cls: Any) -> NodeSpec:
    """How the runtime calls ``action``: its kind, what it takes, where it may route."""
    if isinstance(action, CompiledStateGraph):
        return NodeSpec(name, action, "graph", False, False, False, False, None, None, {}, None)
    if _is_runnable(action):
        return NodeSpec(name, action, "runnable", False, False, False, False, None, None, {}, None)
    kind: NodeKind = "async" if _is_async_callable(action) else "sync"
    config_kw, config_pos, writer_kw = _accepts(action)
    error_kw = _takes_node_error(action)
    config_pos = config_pos and not error_kw  # (state, error: NodeError)
    declared, anywhere = _command_routes(action)
    return NodeSpec(
        name=name,
        fn=action,
        kind=kind,
        config_kw=config_kw,
        config_pos=config_pos,
        writer_kw=writer_kw,
        runtime_kw=_takes_runtime(action),
        store_kw=_takes_store(action),
        retry_policy=None,
        timeout=None,
        metadata={},
        destinations=declared,
        goto_anywhere=anywhere,
        input_schema=_input_annotation(action, state_cls),
        error_kw=error_kw,
    )


ERROR_HANDLER_PREFIX = "__error_handler__"
DEFAULT_ERROR_HANDLER = "__default_error_handler__"
SYNC_TIMEOUT = (
    "Node timeouts are only supported for async nodes because sync Python execution "
    "cannot be safely cancelled in-process."
)


@dataclasses.dataclass(slots=True)
class NodeDefaults:
    """``set_node_defaults()``: what nodes get at ``compile()`` unless ``add_node`` said."""

    retry_policy: tuple[RetryPolicy, ...] | None = None
    error_handler: Callable[..., Any] | None = None
    timeout: TimeoutPolicy | None = None
    cache_policy: CachePolicy | None = None

    def apply(self, nodes: dict[str, NodeSpec], state_cls: Any) -> None:
        """Give ``nodes`` the defaults (a fresh spec per changed node), as LangGraph:
        retries and timeouts apply to every node, the error handler and the cache policy
        to regular nodes."""
        handler = self.error_handler
        if handler is not None:
            existing = nodes.get(DEFAULT_ERROR_HANDLER)
            if existing is not None and not existing.is_error_handler:
                raise GraphValidationError(
                    f"Auto-generated default error handler node `{DEFAULT_ERROR_HANDLER}` "
                    "already exists: rename your node"
                )
            nodes[DEFAULT_ERROR_HANDLER] = _handler_spec(DEFAULT_ERROR_HANDLER, handler, state_cls)
        for name, spec in nodes.items():
            changes: dict[str, Any] = {}
            if handler is not None and not spec.is_error_handler and spec.error_handler is None:
                changes["error_handler"] = DEFAULT_ERROR_HANDLER
            if self.retry_policy is not None and spec.retry_policy is None:
                changes["retry_policy"] = self.retry_policy
            if self.timeout is not None and spec.timeout is None:
                changes["timeout"] = self.timeout
            regular = not spec.is_error_handler
            if self.cache_policy is not None and regular and spec.cache_policy is None:
                changes["cache_policy"] = self.cache_policy
            if changes:
                nodes[name] = dataclasses.replace(spec, **changes)


def _handler_spec(name: str, handler: Any, state_cls: Any) -> NodeSpec:
    if not callable(handler):
        raise GraphValidationError(f"error_handler must be a function, not {handler!r}")
    spec = _inspect_node(name, handler, state_cls)
    spec.is_error_handler = True
    return spec


def _check_sync_timeouts(nodes: dict[str, NodeSpec]) -> None:
    for name, spec in nodes.items():
        if spec.kind == "sync" and spec.timeout is not None:
            raise ValueError(f"{SYNC_TIMEOUT} Node {name!r} is sync.")


def _deprecated_schemas(
    given: dict[str, Any], context: Any, input: Any, output: Any
) -> tuple[Any, Any, Any]:
    """LangGraph's deprecated ``config_schema=``, ``input=``, ``output=``: each warns, and
    counts where its new spelling was not given."""
    unknown = sorted(set(given) - {"config_schema", "input", "output"})
    if unknown:
        raise TypeError(f"StateGraph() got an unexpected keyword argument {unknown[0]!r}")
    renamed = {"config_schema": "context_schema", "input": "input_schema"}
    renamed["output"] = "output_schema"
    for old, new in renamed.items():
        if old in given:
            warnings.warn(
                f"`{old}` is deprecated and will be removed. Please use `{new}` instead.",
                DeprecationWarning,
                stacklevel=3,
            )
    context = given.get("config_schema") if context is None else context
    input = given.get("input") if input is None else input
    output = given.get("output") if output is None else output
    return context, input, output


class StateGraph(Generic[StateT, ContextT, InputT, OutputT]):
    """A graph whose nodes read and update a shared state.

    Generic as LangGraph's: ``StateGraph[State, Context, Input, Output]`` (the last three
    optional) works in annotations and at runtime.

    Args:
        state_schema: a TypedDict, dataclass or pydantic model (a plain class with
            annotations reads as a TypedDict, as in LangGraph). ``Annotated[T, reducer]``
            declares how concurrent or repeated updates to a key are combined.
        context_schema: the type of the run context nodes get as ``runtime.context``.
        input_schema: the schema of the run input, if narrower than the state.
        output_schema: the schema of the run output, if narrower than the state.

    The keywords ``config_schema``, ``input`` and ``output`` are LangGraph's deprecated
    spellings of ``context_schema``, ``input_schema``, ``output_schema`` (a
    DeprecationWarning).

    Example::

        class State(TypedDict):
            log: Annotated[list[str], operator.add]

        graph = StateGraph(State)
        graph.add_node("hello", lambda state: {"log": ["hello"]})
        graph.add_edge(START, "hello")
        app = graph.compile()
    """

    def __init__(
        self,
        state_schema: Any,
        context_schema: Any | None = None,
        *,
        input_schema: Any | None = None,
        output_schema: Any | None = None,
        **deprecated: Any,
    ) -> None:
        context_schema, input_schema, output_schema = _deprecated_schemas(
            deprecated, context_schema, input_schema, output_schema
        )
        self.context_schema = context_schema
        """The type of the run context nodes get through ``runtime.context``."""
        self.state_schema = StateSchema(state_schema)
        self.input_schema = StateSchema(input_schema or state_schema)
        self.output_schema = StateSchema(output_schema or state_schema)
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.waiting_edges: list[tuple[tuple[str, ...], str]] = []
        self.branches: dict[str, list[Branch]] = {}
        self.compiled = False
        self._node_defaults = NodeDefaults()

    @property
    def channels(self) -> dict[str, Channel]:
        """The graph's state keys so far (of its state, input, output and node input
        schemas), as LangGraph's ``StateGraph.channels`` has them."""
        return builder_channels(self)[0]

    @property
    def managed(self) -> dict[str, type]:
        """The managed keys of the state, input and output schemas (``RemainingSteps``,
        ``IsLastStep``): key -> its manager class, as LangGraph's ``StateGraph.managed``."""
        managers = {"remaining": RemainingStepsManager, "last": IsLastStepManager}
        return {
            key: managers[kind]
            for schema in (self.state_schema, self.input_schema, self.output_schema)
            for key, kind in schema.managed.items()
        }

    # -- nodes ---------------------------------------------------------------------------

    def add_node(
        self,
        node: str | NodeAction,
        action: NodeAction | None = None,
        *,
        defer: bool = False,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: CachePolicy | None = None,
        error_handler: Callable[..., Any] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
        metadata: dict[str, Any] | None = None,
        destinations: Sequence[str] | dict[str, str] | None = None,
        input_schema: Any | None = None,
        trace_policy: TracePolicy | None = None,
        retry: RetryPolicy | Sequence[RetryPolicy] | None = None,
    ) -> Self:
        """Add a node. ``add_node(fn)`` names the node after the function.

        Args:
            node: the node's name, or the function itself.
            action: the function, a ``def`` or ``async def`` taking ``(state)`` or
                ``(state, config)``; or a compiled graph (a subgraph).
            retry_policy: how to retry the node when it fails; with a list, the first
                policy whose ``retry_on`` matches the error applies.
            defer: run the node only when the run has nothing else left to do.
            cache_policy: reuse the node's writes for an input seen before (needs
                ``compile(cache=...)``).
            error_handler: a function run (as node ``__error_handler__<name>``, in the
                same step, with the node's input) when the node still fails after its
                retries; its update replaces the node's, and a ``Command`` it returns
                routes. It takes ``error: NodeError`` to see the failure.
            timeout: a :class:`TimeoutPolicy`, or seconds (or a ``timedelta``) for its
                ``run_timeout``: each attempt is cancelled when it is exceeded, and
                ``NodeTimeoutError`` is raised after the node's cleanup has finished.
                Async nodes only.
            metadata: extra metadata for the node's events.
            destinations: nodes a ``Command(goto=...)`` from this node may go to (a dict
                maps them to the labels ``get_graph()`` draws on their edges).
            input_schema: the view of the state the node receives (its keys only), when
                it is not the graph's state schema; by default the annotation of the
                node's first parameter, when that is a state schema class.
            trace_policy: what the LangChain tracers in the run's ``callbacks`` record as
                this node's input and output (:class:`~scopegraph.types.TracePolicy`);
                the node, the state, the streams and the other handlers are unaffected.
        """
        name, action = _node_name(node, action)
        if trace_policy is not None and not isinstance(trace_policy, TracePolicy):
            raise TypeError(
                f"add_node({name!r}, trace_policy=...) takes a TracePolicy, got "
                f"{type(trace_policy).__name__}: use TracePolicy(process_inputs=..., "
                "process_outputs=...)"
            )
        # LangGraph allows editing after compile; a new compile() picks it up.
        self._check_new_name(name)
        policy = _retry_policies(name, retry_policy or retry)
        time_limit = TimeoutPolicy.coerce(timeout)
        if not callable(action) and not hasattr(action, "ainvoke"):
            raise TypeError(  # LangGraph's error and message, then the fix
                "Expected a Runnable, callable or dict."
                f"Instead got an unsupported type: {type(action)} (node {name!r}: "
                "pass a function or a compiled graph)"
            )
        spec = _inspect_node(name, action, self.state_schema.cls)
        spec.retry_policy = policy
        spec.timeout = time_limit
        spec.defer = defer
        spec.cache_policy = cache_policy
        spec.trace_policy = trace_policy
        spec.metadata = dict(metadata or {})
        if input_schema is not None:
            spec.input_schema = (
                None if input_schema is self.state_schema.cls else StateSchema(input_schema)
            )
        if destinations is not None:
            spec.destinations, spec.goto_anywhere = tuple(destinations), False
            if isinstance(destinations, dict):  # LangGraph's {node: label}, for drawing
                spec.destination_labels = {str(k): str(v) for k, v in destinations.items()}
        if error_handler is not None:
            handler_name = ERROR_HANDLER_PREFIX + name
            if handler_name in self.nodes:
                raise GraphValidationError(
                    f"Auto-generated error handler node `{handler_name}` already exists."
                )
            self.nodes[handler_name] = _handler_spec(
                handler_name, error_handler, self.state_schema.cls
            )
            spec.error_handler = handler_name
        self.nodes[name] = spec
        return self

    def set_node_defaults(
        self,
        *,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: CachePolicy | None = None,
        error_handler: Callable[..., Any] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
    ) -> Self:
        """Policies for every node that ``add_node`` gave none, applied at ``compile()``
        (LangGraph's). ``retry_policy`` and ``timeout`` also apply to error handlers;
        ``error_handler`` handles the failures of every other node, whose results
        ``cache_policy`` caches. Not inherited by
        subgraphs.
        """
        defaults = self._node_defaults
        if retry_policy is not None:
            defaults.retry_policy = _retry_policies("(defaults)", retry_policy)
        if cache_policy is not None:
            defaults.cache_policy = cache_policy
        if error_handler is not None:
            defaults.error_handler = error_handler
        if timeout is not None:
            defaults.timeout = TimeoutPolicy.coerce(timeout)
        return self

    def _check_new_name(self, name: str) -> None:
        if name in RESERVED_NAMES:
            raise GraphValidationError(
                f"node name {name!r} is reserved; choose another name for the node"
            )
        bad = [c for c in RESERVED_CHARS if c in name]
        if bad:
            raise GraphValidationError(
                f"node name {name!r} contains {bad[0]!r}, which is reserved for namespaces; "
                "choose a name without ':' or '|'"
            )
        if name in self.nodes:
            raise GraphValidationError(
                f"node {name!r} is already in the graph; give the second node another name"
            )

    def add_sequence(
        self, nodes: Sequence[Callable[..., Any] | tuple[str, Callable[..., Any]]]
    ) -> Self:
        """Add nodes and chain them with edges, in order."""
        if not nodes:
            raise GraphValidationError("add_sequence() needs at least one node")
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple):
                name, fn = item
                self.add_node(name, fn)
            else:
                self.add_node(item)
                name = list(self.nodes)[-1]
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    # -- edges ---------------------------------------------------------------------------

    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> Self:
        """Run ``end_key`` after ``start_key``; with a list, after ALL of them have run."""
        end_key = _plain(end_key)
        if isinstance(start_key, str):
            start_key = _plain(start_key)
            if start_key == END:
                raise GraphValidationError("END cannot be the start of an edge")
            if end_key == START:
                raise GraphValidationError("START cannot be the end of an edge")
            self.edges.append((start_key, end_key))
            return self
        starts = tuple(_plain(s) for s in start_key)
        if not starts:
            raise GraphValidationError("add_edge([], ...) needs at least one start node")
        for s in starts:
            if s == END:
                raise GraphValidationError("END cannot be the start of an edge")
        if end_key == START:
            raise GraphValidationError("START cannot be the end of an edge")
        self.waiting_edges.append((starts, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any] | RunnableLike,
        path_map: dict[Hashable, str] | Sequence[str] | None = None,
    ) -> Self:
        """After ``source``, call ``path(state)`` to choose what runs next.

        ``path`` returns a node name, ``END``, a list of names, or ``Send`` objects.
        ``path_map`` maps its return values to node names (a list maps names to
        themselves).
        """
        if not callable(path) and hasattr(path, "invoke") and hasattr(path, "ainvoke"):
            path = _runnable_path(path)  # a LangChain Runnable (create_agent's edges)
        if not callable(path):
            raise GraphValidationError(
                f"add_conditional_edges({source!r}, ...): path must be callable, "
                f"not {type(path).__name__}"
            )
        mapping: dict[Hashable, str] | None
        if path_map is None:
            mapping = None
        elif isinstance(path_map, dict):
            mapping = dict(path_map)
        elif isinstance(path_map, (list, tuple)):
            mapping = {name: name for name in path_map}
        else:
            raise GraphValidationError(
                f"add_conditional_edges({source!r}, ...): path_map must be a dict or a "
                f"list of node names, not {type(path_map).__name__}"
            )
        name = getattr(path, "__name__", None) or type(path).__name__
        if name == "<lambda>":
            name = "condition"
        existing = self.branches.setdefault(source, [])
        if any(b.name == name for b in existing):
            raise GraphValidationError(
                f"node {source!r} already has a conditional edge named {name!r}; "
                "use a path function with another name"
            )
        config_kw, config_pos, _ = _accepts(path)
        existing.append(
            Branch(
                source,
                path,
                mapping,
                name,
                _is_async_callable(path),
                config_kw,
                config_pos,
                _input_annotation(path, self.state_schema.cls),
            )
        )
        return self

    def set_entry_point(self, key: str) -> Self:
        """Same as ``add_edge(START, key)``."""
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self, path: Callable[..., Any], path_map: dict[Hashable, str] | Sequence[str] | None = None
    ) -> Self:
        """Same as ``add_conditional_edges(START, path, path_map)``."""
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> Self:
        """Same as ``add_edge(key, END)``."""
        return self.add_edge(key, END)

    # -- compile -------------------------------------------------------------------------

    def validate(self) -> None:
        """Check the graph as LangGraph does; raise GraphValidationError naming the
        problem and the fix. The opt-in checks of :func:`check` are not run here."""
        known = set(self.nodes)

        def check_node(name: str, where: str, *, allow: str) -> None:
            if name == allow or name in known:
                return
            # LangGraph's sentence first, so that code matching its message keeps working.
            found = (
                f"Found edge starting at unknown node '{name}'"
                if allow == START
                else f"Found edge ending at unknown node `{name}`"
            )
            raise GraphValidationError(
                f"{found}. {where}: node {name!r} is not defined; add it with "
                f"graph.add_node({name!r}, fn) before compiling"
            )

        for start, end in self.edges:
            where = f"add_edge({start!r}, {end!r})"
            check_node(start, where, allow=START)
            check_node(end, where, allow=END)
        for starts, end in self.waiting_edges:
            where = f"add_edge({list(starts)!r}, {end!r})"
            for s in starts:
                check_node(s, where, allow=START)
            check_node(end, where, allow=END)
        for source, branches in self.branches.items():
            for branch in branches:
                where = f"add_conditional_edges({source!r}, {branch.name})"
                check_node(source, where, allow=START)
                for target in (branch.path_map or {}).values():
                    if target != END and target not in known:
                        raise GraphValidationError(
                            f"{where}: path_map names {target!r}, which is not a node; "
                            f"add it with graph.add_node({target!r}, fn) or fix the path_map"
                        )
        for node in self.nodes.values():
            for target in node.destinations or ():
                check_node(target, f"node {node.name!r} destinations", allow=END)

        has_entry = any(s == START for s, _ in self.edges) or START in self.branches
        if not has_entry:
            raise GraphValidationError(
                "the graph has no entry point; add graph.add_edge(START, 'first_node') "
                "or graph.set_entry_point('first_node')"
            )

    def compile(
        self,
        checkpointer: Any | None = None,
        *,
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        cache: BaseCache[Any] | None = None,
        store: Any | None = None,
        debug: bool = False,
        name: str | None = None,
        strict: bool = False,
    ) -> CompiledStateGraph[StateT, ContextT, InputT, OutputT]:
        """Check the graph and return a runnable ``CompiledStateGraph``.

        Args:
            checkpointer: a saver from ``scopegraph.checkpoint`` (InMemorySaver,
                SqliteSaver, PostgresSaver); runs then need
                ``config={"configurable": {"thread_id": ...}}``.
            interrupt_before: stop the run before these nodes run (needs a checkpointer).
            interrupt_after: stop the run after these nodes ran (needs a checkpointer).
            cache: where the nodes with a ``cache_policy`` keep their results
                (``scopegraph.cache.memory.InMemoryCache``, ``...sqlite.SqliteCache``).
            store: long-term memory shared by runs and threads (``scopegraph.store``'s
                InMemoryStore, SqliteStore, PostgresStore): nodes get it as
                ``runtime.store``, as a ``store`` parameter and from ``get_store()``.
            strict: also run the opt-in checks of :func:`scopegraph.check` (a node with
                no way out or no way in raises GraphValidationError), and make run input
                keys that are not in the input schema raise InvalidInputError. By
                default, as in LangGraph, such graphs compile and such keys are dropped.
        """
        if not (
            checkpointer is None
            or checkpointer is True
            or checkpointer is False
            or isinstance(checkpointer, BaseCheckpointSaver)
        ):
            raise TypeError(  # LangGraph's type and words, so `except TypeError` works
                "Invalid checkpointer provided. Expected a scopegraph saver (InMemorySaver, "
                "SqliteSaver, PostgresSaver from scopegraph.checkpoint), True, False or "
                f"None. Received {type(checkpointer).__name__}."
            )
        if store is not None and not (
            callable(getattr(store, "batch", None)) and callable(getattr(store, "abatch", None))
        ):
            raise TypeError(
                f"store must be a store (scopegraph.store's InMemoryStore, SqliteStore, "
                f"PostgresStore, or any BaseStore), not {type(store).__name__}"
            )
        self._node_defaults.apply(self.nodes, self.state_schema.cls)
        _check_sync_timeouts(self.nodes)
        self.validate()
        if strict and (found := _findings(self)):
            raise GraphValidationError(
                "compile(strict=True): " + "; ".join(f.message for f in found)
            )
        # Without a checkpointer of its own, a subgraph's static interrupts use its
        # parent's (LangGraph's rule), so none is required here.
        before = check_interrupt_nodes(
            self.nodes, "interrupt_before", interrupt_before, None, required=False
        )
        after = check_interrupt_nodes(
            self.nodes, "interrupt_after", interrupt_after, None, required=False
        )
        self.compiled = True
        return CompiledStateGraph(
            self,
            name=name,
            debug=debug,
            checkpointer=checkpointer,
            interrupt_before=before,
            interrupt_after=after,
            context_schema=self.context_schema,
            strict=strict,
            cache=cache,
            store=store,
        )
