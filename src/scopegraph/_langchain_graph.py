"""``get_graph()`` as LangChain's ``Graph`` (an integration: loaded only when
``langchain_core`` is installed; ``scopegraph/__init__.py`` registers it with
:func:`scopegraph._drawing.register_graph_converter`).

LangGraph's ``get_graph()`` returns ``langchain_core.runnables.graph.Graph``, whose
``draw_mermaid()``, ``draw_ascii()``, ``draw_mermaid_png()`` and ``to_json()`` programs and
the LangGraph server's clients use. Each node's ``data`` stands for the runnable LangGraph
puts there, under LangGraph's class name, so that ``to_json()`` is the same as LangGraph's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.graph import Edge, Graph, Node

from ._drawing import Drawing

__all__ = ("to_langchain_graph",)


class _DrawnRunnable(RunnableSerializable[Any, Any]):
    """A drawn node's data: it names the node and cannot be run."""

    namespace: ClassVar[list[str]] = []

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return list(cls.namespace)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{self.name!r} is a node of a drawing (get_graph()); run the compiled graph"
        )


class RunnableCallable(_DrawnRunnable):
    """A function node, named as LangGraph names its node runnables."""

    namespace: ClassVar[list[str]] = ["langgraph", "_internal", "_runnable"]


class CompiledStateGraph(_DrawnRunnable):
    """A subgraph node, named as LangGraph's compiled graph class."""

    namespace: ClassVar[list[str]] = ["langgraph", "graph", "state"]


def to_langchain_graph(drawing: Drawing) -> Graph:
    """``drawing`` as LangChain's ``Graph``: the same nodes and edges, in order."""
    graph = Graph()
    for node in drawing.nodes.values():
        data: Any = None
        if node.kind != "end":
            cls = CompiledStateGraph if node.kind == "graph" else RunnableCallable
            data = cls(name=node.name)
        graph.nodes[node.id] = Node(node.id, node.name, data, node.metadata)
    graph.edges = [Edge(e.source, e.target, e.data, e.conditional) for e in drawing.edges]
    return graph
