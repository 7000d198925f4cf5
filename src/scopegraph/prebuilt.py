"""LangGraph's ``langgraph.prebuilt`` nodes, for scopegraph graphs: ``from
langgraph.prebuilt import ToolNode`` becomes ``from scopegraph.prebuilt import ToolNode``.

These are LangGraph's own objects, unchanged: ``ToolNode``, ``tools_condition``,
``ValidationNode``, ``InjectedState``, ``InjectedStore``, ``ToolRuntime``. They run as
nodes (and edges) of a scopegraph ``StateGraph``, which gives them LangGraph's config
contract (see ``docs/agents.md``, "Prebuilt nodes"). ``create_react_agent`` is not here:
it builds a LangGraph graph, which runs on LangGraph's engine; bridge it
(``scopegraph.langgraph.bridge``) or build the same loop from these nodes.

Needs LangGraph's prebuilt package: ``pip install 'scopegraph[prebuilt]'``.
"""

from __future__ import annotations

from typing import Any

try:
    from langgraph.prebuilt import (
        InjectedState,
        InjectedStore,
        ToolNode,
        ToolRuntime,
        ValidationNode,
        tools_condition,
    )
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "scopegraph.prebuilt needs LangGraph's prebuilt nodes: pip install 'scopegraph[prebuilt]'"
    ) from exc

__all__ = (
    "InjectedState",
    "InjectedStore",
    "ToolNode",
    "ToolRuntime",
    "ValidationNode",
    "tools_condition",
)


def __getattr__(name: str) -> Any:
    if name == "create_react_agent":
        raise AttributeError(
            "scopegraph.prebuilt has no create_react_agent: LangGraph's builds a LangGraph "
            "graph (LangGraph's engine). Bridge it (scopegraph.langgraph.bridge("
            "langgraph.prebuilt.create_react_agent(...))) or build the loop as a scopegraph "
            "StateGraph with ToolNode and tools_condition (docs/agents.md)"
        )
    raise AttributeError(f"module 'scopegraph.prebuilt' has no attribute {name!r}")
