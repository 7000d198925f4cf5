"""``get_graph()``: a compiled graph as a drawable graph, with LangGraph's nodes and edges.

LangGraph finds a graph's edges by running its superstep loop on empty values, with every
declared route taken (:func:`draw` does the same on scopegraph's tables): an edge is
drawn from each node that wrote a node's trigger to that node; a conditional edge or a
``Command`` with declared destinations (``path_map``, a ``Literal[...]`` return, or
``destinations=``) is drawn as ``conditional``, one with no declared destinations is not
drawn at all; nodes that nothing leaves lead to END. ``xray`` replaces a subgraph node
by the subgraph's own drawing, its ids prefixed with ``"node:"``.

The result is :class:`Drawing` (nodes, edges, ``draw_mermaid()``, ``to_json()``); when
LangChain is installed, the ``"graph drawing"`` integration (:mod:`scopegraph._lazy`)
turns it into ``langchain_core.runnables.graph.Graph`` (``draw_ascii()``,
``draw_mermaid_png()``...), as LangGraph returns.
"""

from __future__ import annotations

import dataclasses
import typing
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ._constants import END, START
from ._lazy import integration
from ._spec import Branch, NodeSpec

__all__ = ("DrawnEdge", "DrawnNode", "Drawing", "converted", "draw")

_LIMIT = 250
"""LangGraph's number of simulated steps."""


@dataclasses.dataclass(frozen=True, slots=True)
class DrawnNode:
    """A node of a drawing. ``kind``: ``"node"`` (a function), ``"graph"`` (a subgraph),
    ``"start"`` or ``"end"``."""

    id: str
    name: str
    kind: str
    metadata: dict[str, Any] | None = None


class DrawnEdge(NamedTuple):
    source: str
    target: str
    data: str | None = None
    conditional: bool = False


class Drawing:
    """A drawable graph: ``nodes`` (by id) and ``edges``, as LangChain's ``Graph``."""

    def __init__(self) -> None:
        self.nodes: dict[str, DrawnNode] = {}
        self.edges: list[DrawnEdge] = []

    def add_edge(
        self, source: str, target: str, data: str | None = None, conditional: bool = False
    ) -> None:
        """Add an edge once per (source, target); END is added when first reached."""
        if any(e.source == source and e.target == target for e in self.edges):
            return
        if target == END and END not in self.nodes:
            self.nodes[END] = DrawnNode(END, END, "end")
        self.edges.append(DrawnEdge(source, target, data, conditional))

    def first_node(self, exclude: Iterable[str] = ()) -> DrawnNode | None:
        """The one node no edge leads to (None if there is not exactly one)."""
        skip = set(exclude)
        targets = {e.target for e in self.edges if e.source not in skip}
        found = [n for n in self.nodes.values() if n.id not in skip and n.id not in targets]
        return found[0] if len(found) == 1 else None

    def last_node(self, exclude: Iterable[str] = ()) -> DrawnNode | None:
        """The one node no edge leaves (None if there is not exactly one)."""
        skip = set(exclude)
        sources = {e.source for e in self.edges if e.target not in skip}
        found = [n for n in self.nodes.values() if n.id not in skip and n.id not in sources]
        return found[0] if len(found) == 1 else None

    def _remove(self, node: DrawnNode) -> None:
        self.nodes.pop(node.id)
        self.edges = [e for e in self.edges if node.id not in (e.source, e.target)]

    def trim(self) -> None:
        """Remove START and END when that leaves one first and one last node."""
        first = self.first_node()
        if first and self.first_node([first.id]) and self._count("source", first.id) == 1:
            self._remove(first)
        last = self.last_node()
        if last and self.last_node([last.id]) and self._count("target", last.id) == 1:
            self._remove(last)

    def _count(self, end: str, node_id: str) -> int:
        return len({e for e in self.edges if getattr(e, end) == node_id})

    def inline(self, name: str, sub: Drawing) -> None:
        """Replace node ``name`` by ``sub`` (its ids prefixed with ``name:``)."""
        sub.trim()
        self.nodes.pop(name)
        first, last = sub.first_node(), sub.last_node()
        for node in sub.nodes.values():
            self.nodes[f"{name}:{node.id}"] = dataclasses.replace(node, id=f"{name}:{node.id}")
        self.edges += [
            e._replace(source=f"{name}:{e.source}", target=f"{name}:{e.target}") for e in sub.edges
        ]
        for i, e in enumerate(self.edges):
            if e.source == name and last is not None:
                e = e._replace(source=f"{name}:{last.id}")
            if e.target == name and first is not None:
                e = e._replace(target=f"{name}:{first.id}")
            self.edges[i] = e

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """``{"nodes": [...], "edges": [...]}`` in the shape of LangChain's ``to_json``."""
        nodes: list[dict[str, Any]] = []
        for node in self.nodes.values():
            item: dict[str, Any] = {"id": node.id}
            if node.kind != "end":
                item.update(type="runnable", data={"id": _lc_id(node.kind), "name": node.id})
            if node.metadata:
                item["metadata"] = node.metadata
            nodes.append(item)
        edges: list[dict[str, Any]] = []
        for e in self.edges:
            edge: dict[str, Any] = {"source": e.source, "target": e.target}
            if e.data is not None:
                edge["data"] = e.data
            if e.conditional:
                edge["conditional"] = True
            edges.append(edge)
        return {"nodes": nodes, "edges": edges}

    def draw_mermaid(self, *, with_styles: bool = True) -> str:
        """The graph in Mermaid's flowchart syntax (``-.->`` for conditional edges)."""
        lines = ["graph TD;"]
        if with_styles:
            lines = ["---", "config:", "  flowchart:", "    curve: linear", "---", "graph TD;"]
            for node in self.nodes.values():
                label = f"<p>{node.name}</p>" if node.kind in ("start", "end") else node.name
                lines.append(f"\t{_mermaid_id(node.id)}({label})")
        for e in self.edges:
            arrow = "-.->" if e.conditional else "-->"
            if e.data is not None:
                arrow = f"-. &nbsp;{e.data}&nbsp; .->" if e.conditional else f"-- {e.data} -->"
            lines.append(f"\t{_mermaid_id(e.source)} {arrow} {_mermaid_id(e.target)};")
        return "\n".join(lines) + "\n"


def _lc_id(kind: str) -> list[str]:
    # What LangGraph's to_json names a node's runnable (its class's LangChain id).
    if kind == "graph":
        return ["langgraph", "graph", "state", "CompiledStateGraph"]
    return ["langgraph", "_internal", "_runnable", "RunnableCallable"]


def _mermaid_id(node_id: str) -> str:
    return node_id.replace(":", "_")


def converted(drawing: Drawing) -> Any:
    """The drawing as the installed integration draws it (LangChain's ``Graph``), else
    as it is."""
    convert = integration("graph drawing")
    return drawing if convert is None else convert(drawing)


# -- finding the edges ---------------------------------------------------------------------


class _Trigger(NamedTuple):
    channel: str
    conditional: bool
    label: str | None


def _branch_ends(branch: Branch) -> dict[str, str] | None:
    """A conditional edge's declared destinations (label -> node), as LangGraph finds
    them: its ``path_map``, else the ``Literal[...]`` its path returns, else None."""
    if branch.path_map is not None:
        return {str(k): v for k, v in branch.path_map.items()}
    fn = branch.path
    call = getattr(fn, "__call__", None)  # noqa: B004 - a callable object's method
    if not hasattr(fn, "__code__") and call is not None and hasattr(call, "__func__"):
        fn = call
    try:
        returns = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations: as if there were none
        return None
    if typing.get_origin(returns) is typing.Literal:
        return {str(v): str(v) for v in typing.get_args(returns)}
    return None


class _Tables:
    """What each node writes in the simulation, from the builder's tables."""

    def __init__(self, builder: Any) -> None:
        self.names = [START, *builder.nodes]
        self.deferred = [n for n, node in builder.nodes.items() if getattr(node, "defer", False)]
        self.plain: dict[str, list[str]] = defaultdict(list)
        for source, target in builder.edges:
            if target != END:
                self.plain[source].append(f"branch:to:{target}")
        self.joins: dict[str, tuple[tuple[str, ...], str]] = {}
        for starts, target in builder.waiting_edges:
            if target != END:
                channel = f"join:{'+'.join(starts)}:{target}"
                self.joins[channel] = (tuple(starts), target)
                for s in starts:
                    self.plain[s].append(channel)
        # Declared routes (label per target), written once: (node, writer index) -> ends.
        self.static: dict[tuple[str, int], list[tuple[str, str | None]]] = {}
        for source, branches in builder.branches.items():
            for i, branch in enumerate(branches):
                ends = _branch_ends(branch)
                if ends:
                    self.static[(source, i)] = [(t, label) for label, t in ends.items()]
        node: NodeSpec
        for node in builder.nodes.values():
            if node.destinations:
                labels = node.destination_labels or {}
                routes = [(d, labels.get(d)) for d in node.destinations]
                self.static[(node.name, -1)] = routes

    def triggers_of(self, name: str) -> tuple[str, ...]:
        joins = tuple(c for c, (_, target) in self.joins.items() if target == name)
        return (f"branch:to:{name}", *joins)


def _simulate(tables: _Tables) -> tuple[set[DrawnEdge], list[str]]:
    """LangGraph's drawing loop: the edges found, and the sources of the last step."""
    edges: set[DrawnEdge] = set()
    sources: dict[str, set[_Trigger]] = {}
    step_sources: dict[str, set[_Trigger]] = {}
    declared: dict[str, set[_Trigger]] = defaultdict(set)
    seen_static: set[tuple[str, int]] = set()
    barrier: dict[str, set[str]] = defaultdict(set)
    held: set[str] = set()
    tasks: dict[str, tuple[str, ...]] = {START: (START,)}
    for _ in range(-1, _LIMIT):
        if not tasks:
            break
        conditionals: dict[tuple[str, str], str | None] = {}
        writes: dict[str, list[str]] = {}
        for name in tasks:
            writes[name] = list(tables.plain.get(name, ()))
            for key, routes in tables.static.items():
                if key[0] != name or key in seen_static:
                    continue
                seen_static.add(key)
                for target, label in routes:
                    if target == END:
                        edges.add(DrawnEdge(name, END, label, True))
                        continue
                    channel = f"branch:to:{target}"
                    conditionals[(name, channel)] = label
                    declared[name].add(_Trigger(channel, True, label))
                    writes[name].append(channel)
        step_sources = {
            name: {
                _Trigger(c, (name, c) in conditionals, conditionals.get((name, c))) for c in chans
            }
            | declared.get(name, set())
            for name, chans in writes.items()
        }
        sources.update(step_sources)
        by_trigger: dict[str, set[tuple[str, bool, str | None]]] = defaultdict(set)
        for src, triggers in sources.items():
            for channel, cond, label in triggers:
                by_trigger[channel].add((src, cond, label))
        tasks = _next_tasks(tables, writes, barrier, held)
        for name, channels in tasks.items():
            added = False
            for trigger in channels:
                for src, cond, label in sorted(by_trigger[trigger], key=_edge_key):
                    edges.add(DrawnEdge(src, name, label, cond))
                    if _Trigger(trigger, cond, label) in step_sources.get(src, set()):
                        added = True
                    else:
                        sources[src].discard(_Trigger(trigger, cond, label))
            if not added:
                for src in step_sources:
                    edges.add(DrawnEdge(src, name, None, True))
    return edges, list(step_sources)


def _edge_key(item: tuple[str, bool, str | None]) -> tuple[str, bool, bool, str]:
    return item[0], item[1], item[2] is not None, item[2] or ""


def _next_tasks(
    tables: _Tables,
    writes: Mapping[str, list[str]],
    barrier: dict[str, set[str]],
    held: set[str],
) -> dict[str, tuple[str, ...]]:
    """The nodes the step's writes trigger, each with the channels that trigger it. A
    deferred node's triggers are ``held`` until a step triggers nothing else."""
    fresh = {c for chans in writes.values() for c in chans if c.startswith("branch:to:")}
    ready: set[str] = set()
    for name, chans in writes.items():
        for channel in chans:
            if channel in tables.joins:
                barrier[channel].add(name)
                if barrier[channel] >= set(tables.joins[channel][0]):
                    ready.add(channel)
    tasks: dict[str, tuple[str, ...]] = {}
    for name in tables.names[1:]:
        triggers = tuple(t for t in tables.triggers_of(name) if t in fresh or t in ready)
        if not triggers:
            continue
        for t in triggers:
            barrier.pop(t, None)
        if name in tables.deferred:
            held.update(triggers)
        else:
            tasks[name] = triggers
    if not tasks and held:
        for name in tables.deferred:
            triggers = tuple(t for t in tables.triggers_of(name) if t in held)
            if triggers:
                tasks[name] = triggers
        held.clear()
    return tasks


def draw(graph: Any, subgraphs: Mapping[str, Drawing]) -> Drawing:
    """The drawing of a compiled graph (``subgraphs``: the drawings of the subgraph nodes
    to inline, for ``xray``)."""
    builder = graph.builder
    edges, last_sources = _simulate(_Tables(builder))
    drawing = Drawing()
    drawing.nodes[START] = DrawnNode(START, START, "start")
    before, after = graph.interrupt_before_nodes, graph.interrupt_after_nodes
    for name, node in builder.nodes.items():
        metadata = dict(node.metadata or {})
        if getattr(node, "defer", False):
            metadata["defer"] = True
        if name in before and name in after:
            metadata["__interrupt"] = "before,after"
        elif name in before or name in after:
            metadata["__interrupt"] = "before" if name in before else "after"
        # LangGraph draws a ToolNode's tools (duck-typed: the core does not import it).
        tools_by_name = getattr(node.fn, "tools_by_name", None)
        if isinstance(tools_by_name, Mapping) and tools_by_name:
            metadata["__tools"] = list(tools_by_name)
        kind = "graph" if node.kind == "graph" else "node"
        drawing.nodes[name] = DrawnNode(name, name, kind, metadata or None)
    for e in sorted(edges, key=lambda e: (e.source, e.target, e.conditional, *_label(e.data))):
        data = e.data if e.data != e.target else None
        drawing.add_edge(e.source, e.target, data, e.conditional)
    termini = {e.target for e in edges if e.target != END} - {e.source for e in edges}
    if termini:
        for src in sorted(termini):
            drawing.add_edge(src, END)
    elif len(last_sources) == 1 and not any(e.target == END for e in edges):
        drawing.add_edge(last_sources[0], END, conditional=True)
    for name, sub in subgraphs.items():
        if len(sub.nodes) > 1 and name in drawing.nodes and sub.first_node() and sub.last_node():
            drawing.inline(name, sub)
    return drawing


def _label(data: str | None) -> tuple[bool, str]:
    return data is not None, data or ""
