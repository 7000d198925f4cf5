"""LangGraph's ``langgraph.prebuilt`` nodes, for scopegraph graphs: ``from
langgraph.prebuilt import ToolNode`` becomes ``from scopegraph.prebuilt import ToolNode``.

These are LangGraph's own objects, unchanged: ``ToolNode``, ``tools_condition``,
``ValidationNode``, ``InjectedState``, ``InjectedStore``, ``ToolRuntime``. They run as
nodes (and edges) of a scopegraph ``StateGraph``, which gives them LangGraph's config
contract (see ``docs/agents.md``, "Prebuilt nodes"). ``create_react_agent`` is
LangGraph's, adopted: the graph it builds runs on scopegraph's engine
(``scopegraph.langgraph.adopt``), with a scopegraph checkpointer and store.

Needs LangGraph's prebuilt package: ``pip install 'scopegraph[prebuilt]'``.
"""

from __future__ import annotations

from typing import Any

from ._adopt import adopt

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
    "create_react_agent",
    "tools_condition",
)


def create_react_agent(
    model: Any, tools: Any, *, checkpointer: Any = None, store: Any = None, **options: Any
) -> Any:
    """LangGraph's ``create_react_agent`` (same arguments, same graph), run on scopegraph's
    engine: LangGraph builds the graph, :func:`scopegraph.langgraph.adopt` rebuilds it
    with ``checkpointer`` and ``store`` (scopegraph's: ``scopegraph.checkpoint``,
    ``scopegraph.store``; LangGraph's in-memory ones are converted). LangGraph itself
    deprecates ``create_react_agent`` for ``langchain.agents.create_agent``, whose graph
    ``adopt()`` takes as well; its deprecation warning is LangGraph's.

    Raises:
        AdoptionError: an option builds something scopegraph cannot run; the message
            names it (``scopegraph.langgraph.bridge`` runs such graphs on LangGraph).
    """
    from langgraph.prebuilt import create_react_agent as build

    return adopt(build(model, tools, **options), checkpointer=checkpointer, store=store)
