"""A compiled graph as data: what the runtime reads, and nothing that runs.

The builder (:mod:`._graph`) records :class:`NodeSpec` and :class:`Branch` entries;
``compile()`` turns them into one :class:`GraphSpec`, the tables the superstep loop
(:mod:`._pregel`) plans and applies writes with. This module imports no other part of the
engine, so the builder, the compiled graph and the loop all depend on it and not on each
other.
"""

from __future__ import annotations

import dataclasses
import dis
import types
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, Protocol

from ._constants import START
from ._errors import GraphValidationError
from ._schema import Channel, Reducer, StateSchema
from ._types import CachePolicy, RetryPolicy, TimeoutPolicy, TracePolicy

__all__ = (
    "Branch",
    "BuilderTables",
    "GraphSpec",
    "NodeKind",
    "NodeSpec",
    "check_interrupt_nodes",
    "reachable_values",
)

NodeKind = Literal["async", "sync", "graph", "runnable"]


class NodeRunnable(NamedTuple):
    """A node's function as LangGraph's node runnable exposes it (``NodeSpec.runnable``)."""

    func: Any
    afunc: Any


@dataclasses.dataclass(slots=True)
class NodeSpec:
    """One node as the runtime calls it."""

    name: str
    fn: Any
    kind: NodeKind
    config_kw: bool
    config_pos: bool
    writer_kw: bool
    runtime_kw: bool
    retry_policy: tuple[RetryPolicy, ...] | None
    timeout: TimeoutPolicy | None
    metadata: dict[str, Any]
    destinations: tuple[str, ...] | None
    """Where a ``Command`` returned by this node may go, if declared."""
    goto_anywhere: bool = True
    """Whether a ``Command`` from this node may go to nodes nobody declared."""
    input_schema: Any = None
    """The node's own input schema (its first parameter's annotation), if it is not the
    graph's state schema: the node sees only those keys, and keys the state schema lacks
    become private channels (LangGraph's "private state")."""
    destination_labels: dict[str, str] | None = None
    """The labels ``get_graph()`` draws on the edges to ``destinations`` (LangGraph's
    ``add_node(destinations={node: label})``)."""
    error_handler: str | None = None
    """The node that runs, in the same step, when this one fails after its retries."""
    is_error_handler: bool = False
    """Whether this node is some node's ``error_handler`` (it then handles no failure)."""
    error_kw: bool = False
    """Whether the function takes ``error: NodeError`` (an error handler's failure)."""
    store_kw: bool = False
    """Whether the function takes a ``store`` parameter (LangGraph injects the store)."""
    defer: bool = False
    """``add_node(defer=True)``: the node runs only once nothing else is left to run."""
    cache_policy: CachePolicy | None = None
    """Reuse the node's writes for an input seen before (with ``compile(cache=...)``)."""
    trace_policy: TracePolicy | None = None
    """What the LangChain tracers record of this node's run (``add_node(trace_policy=)``)."""
    found_subgraphs: list[Any] | None = dataclasses.field(default=None, repr=False, compare=False)
    """:attr:`subgraphs`, once found."""

    @property
    def cache_ns(self) -> tuple[str, ...]:
        """The cache namespace of this node's writes: the function and the node name."""
        fn = self.fn
        ident = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"
        return ("__pregel_ns_writes", ident, self.name)

    @property
    def runnable(self) -> NodeRunnable:
        """What LangGraph's ``StateNodeSpec.runnable`` gives of a function node: its
        ``func`` (sync) or ``afunc`` (async)."""
        is_async = self.kind == "async"
        return NodeRunnable(None if is_async else self.fn, self.fn if is_async else None)

    def copy(self, update: dict[str, Any] | None = None) -> NodeSpec:
        """A copy with the fields in ``update`` replaced (LangGraph's ``PregelNode.copy``)."""
        return dataclasses.replace(self, **(update or {}))

    @property
    def subgraphs(self) -> list[Any]:
        """The compiled graph this node runs, or calls from its function, if any
        (LangGraph's subgraph detection; one without checkpoints does not count)."""
        found = self.found_subgraphs
        if found is None:
            found = self.found_subgraphs = self._find_subgraphs()
        return found

    def _find_subgraphs(self) -> list[Any]:
        fn = self.fn
        if self.kind == "graph":
            candidates: list[Any] = [fn]
        else:
            funcs = (
                [fn]
                if self.kind != "runnable"
                else [getattr(fn, "func", None), getattr(fn, "afunc", None)]
            )
            candidates = [v for f in funcs if f is not None for v in reachable_values(f)]
        for value in candidates:
            value = getattr(value, "__self__", value)  # a bound method: its object
            is_graph = callable(getattr(type(value), "run_as_node", None))
            if is_graph and getattr(value, "checkpointer", None) is not False:
                return [value]
        return []


@dataclasses.dataclass(slots=True)
class Branch:
    """One conditional edge: ``path(state)`` chooses what runs after ``source``."""

    source: str
    path: Callable[..., Any]
    path_map: dict[Hashable, str] | None
    name: str
    is_async: bool
    config_kw: bool
    config_pos: bool
    input_schema: StateSchema | None = None
    """The path function's own input schema (its first parameter's annotation), if it is
    not the graph's state schema: it sees only those keys (LangGraph's rule)."""
    traced: bool = True
    """Whether ``astream_events`` shows the path function as a chain run (LangGraph shows
    every path but a ``RunnableCallable(..., trace=False)`` one, as ``create_agent``'s)."""


class BuilderTables(Protocol):
    """What ``compile()`` reads of a builder (``StateGraph`` has these attributes)."""

    @property
    def nodes(self) -> Mapping[str, NodeSpec]: ...
    @property
    def edges(self) -> Sequence[tuple[str, str]]: ...
    @property
    def waiting_edges(self) -> Sequence[tuple[tuple[str, ...], str]]: ...
    @property
    def branches(self) -> Mapping[str, Sequence[Branch]]: ...
    @property
    def state_schema(self) -> StateSchema: ...
    @property
    def input_schema(self) -> StateSchema: ...
    @property
    def output_schema(self) -> StateSchema: ...


PullInfo = tuple[tuple[str, ...], tuple[str, str], tuple[int, str]]
"""A pull task's (triggers, path, sort key), the same for every task of one node."""

START_NODE = NodeSpec(START, None, "async", False, False, False, False, None, None, {}, None)
"""The virtual node that writes the input (and owns START's conditional edges)."""


def builder_channels(builder: BuilderTables) -> tuple[dict[str, Channel], dict[str, str]]:
    """The state keys of a graph (its state, input, output and private node schemas', in
    order) and its managed keys (key -> kind)."""
    channels: dict[str, Channel] = {}
    managed: dict[str, str] = {}
    private = [n.input_schema for n in builder.nodes.values() if n.input_schema is not None]
    private += [
        b.input_schema for bs in builder.branches.values() for b in bs if b.input_schema is not None
    ]
    for schema in (builder.state_schema, builder.input_schema, builder.output_schema, *private):
        for key, channel in schema.channels.items():
            channels.setdefault(key, channel)
        managed.update(schema.managed)
    return channels, managed


@dataclasses.dataclass(frozen=True, slots=True)
class GraphSpec:
    """The tables one compiled graph runs with; built once by :meth:`build`."""

    name: str
    nodes: dict[str, NodeSpec]
    state_schema: StateSchema
    input_schema: StateSchema
    output_schema: StateSchema
    channels: dict[str, Channel]
    """Every key of the state, input, output and private node schemas, in order."""
    reducers: dict[str, Reducer | None]
    initials: tuple[tuple[str, Callable[[], Any]], ...]
    input_channels: dict[str, Channel]
    output_keys: tuple[str, ...]
    node_views: dict[str, Callable[[dict[str, Any]], Any]]
    """What each node receives of the state (its own input schema's keys, if any)."""
    pull_info: dict[str, PullInfo]
    edges_from: dict[str, tuple[str, ...]]
    waiting_edges: tuple[tuple[tuple[str, ...], str], ...]
    waiting_by_source: dict[str, tuple[int, ...]]
    branches: dict[str, tuple[Branch, ...]]
    start_node: NodeSpec = dataclasses.field(default_factory=lambda: START_NODE)
    strict: bool = False
    """``compile(strict=True)``: input keys not in the input schema raise, not dropped."""
    managed: dict[str, str] = dataclasses.field(default_factory=dict)
    """Managed keys (``RemainingSteps``, ``IsLastStep``) of every schema: key -> kind."""
    ephemeral: tuple[str, ...] = ()
    """The keys of LangGraph's ``EphemeralValue`` channels (see ``Channel.ephemeral``)."""
    root: bool = False
    """A root state (``StateGraph(Annotated[list, operator.add])``): the state, each
    node's input and the output are the value of the one channel ``__root__``."""
    cache: Any = None
    """``compile(cache=...)``: the ``BaseCache`` of the nodes with a ``CachePolicy``."""
    deferred: bool = False
    """Whether a node is ``add_node(defer=True)`` (known once, not scanned per run)."""
    functional: bool = False
    """An ``@entrypoint`` (:mod:`scopegraph.func`): a root state holding the return value,
    plus the input (``__start__``) and the saved value (``__previous__``), which the run
    output and the ``values`` stream do not show."""

    @classmethod
    def build(
        cls, builder: BuilderTables, name: str, *, strict: bool = False, cache: Any = None
    ) -> GraphSpec:
        """The tables of ``builder``'s graph as it is now (later edits need a new build)."""
        nodes = dict(builder.nodes)
        state, inp, out = builder.state_schema, builder.input_schema, builder.output_schema
        channels, managed = builder_channels(builder)
        edges: dict[str, list[str]] = {}
        for start, end in builder.edges:
            targets = edges.setdefault(start, [])
            if end not in targets:
                targets.append(end)
        waiting_edges = tuple(builder.waiting_edges)
        waiting: dict[str, list[int]] = {}
        for index, (sources, _) in enumerate(waiting_edges):
            for source in sources:
                waiting.setdefault(source, []).append(index)
        return cls(
            name=name,
            nodes=nodes,
            state_schema=state,
            input_schema=inp,
            output_schema=out,
            channels=channels,
            reducers={key: ch.reducer for key, ch in channels.items()},
            initials=tuple(
                (key, ch.initial) for key, ch in channels.items() if ch.reducer and ch.initial
            ),
            input_channels=inp.channels,
            output_keys=tuple(out.channels),
            node_views={
                n: node.input_schema.view if node.input_schema is not None else state.view
                for n, node in nodes.items()
            },
            pull_info={n: ((f"branch:to:{n}",), ("__pregel_pull", n), (0, n)) for n in nodes},
            edges_from={k: tuple(v) for k, v in edges.items()},
            waiting_edges=waiting_edges,
            waiting_by_source={k: tuple(v) for k, v in waiting.items()},
            branches={k: tuple(v) for k, v in builder.branches.items()},
            strict=strict,
            managed=managed,
            ephemeral=tuple(key for key, ch in channels.items() if ch.ephemeral),
            root=state.kind == "root",
            cache=cache,
            deferred=any(node.defer for node in nodes.values()),
        )

    def initial_values(self) -> dict[str, Any]:
        """The state a new thread starts from (reducer channels with a start value)."""
        return {key: make() for key, make in self.initials}


def check_interrupt_nodes(
    nodes: Mapping[str, NodeSpec],
    what: str,
    names: Sequence[str] | str | None,
    checkpointer: Any,
    *,
    required: bool = True,
) -> frozenset[str]:
    """Validate ``interrupt_before`` / ``interrupt_after``; ``"*"`` means every node.
    ``required``: a checkpointer is needed (a run's own interrupts, not a compiled
    graph's, which may be a subgraph's that uses its parent's checkpointer)."""
    if not names:
        return frozenset()
    if required and checkpointer is None:
        raise GraphValidationError(
            f"{what} needs a checkpointer to save the run while it waits: "
            "compile(checkpointer=InMemorySaver(), ...)"
        )
    if names == "*":
        return frozenset(nodes)
    if isinstance(names, str):
        names = [names]
    for name in names:
        if name not in nodes:
            raise GraphValidationError(
                f"{what} names {name!r}, which is not a node; the nodes are "
                f"{', '.join(map(repr, nodes))}"
            )
    return frozenset(names)


def reachable_values(func: Any) -> list[Any]:
    """The values a function reaches from outside its scope, as far as its code shows:
    every filled closure cell, and each value along a chain of global or closure names
    followed by attribute loads (``GRAPH.invoke``, ``holder.payload.invoke``), in its
    code and in the code of the functions it defines. Globals only the inner code names
    are not followed (the inner code's globals resolve against the outer code's names).
    """
    func = getattr(func, "__func__", func)
    wrapped = getattr(func, "__wrapped__", None)
    if callable(wrapped):
        func = getattr(wrapped, "__func__", wrapped)
    if not isinstance(func, types.FunctionType):
        return []
    code = func.__code__
    cells: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        try:
            cells[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    names = func.__globals__
    found = list(cells.values())
    known = {name: names[name] for name in code.co_names if name in names}
    for inner in _code_objects(code):
        value: Any = None
        for instruction in dis.get_instructions(inner):
            op = instruction.opname
            if op == "LOAD_GLOBAL":
                value = known.get(instruction.argval)
            elif op == "LOAD_DEREF":
                value = cells.get(instruction.argval)
            elif op in ("LOAD_ATTR", "LOAD_METHOD"):
                value = _attribute(value, instruction.argval)
            else:
                value = None  # any other instruction ends the chain
            if value is not None:
                found.append(value)
    return found


def _attribute(value: Any, name: str) -> Any:
    if value is None:
        return None
    try:
        return getattr(value, name, None)
    except Exception:  # a property that fails: the chain ends here
        return None


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)
