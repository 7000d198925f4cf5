"""The ``langgraph-prebuilt`` sdist's tests: which of them run on scopegraph's engine.

Rewritten as the Graph API suite is (:mod:`._rewrite`): a test that builds its own
``StateGraph`` gets scopegraph's, with LangGraph's ``ToolNode``, ``ValidationNode``,
``tools_condition`` and the tools inside it, unchanged. The prebuilt objects are what
the tests test, so reaching them does not make a test need a LangGraph API scopegraph
lacks; ``create_react_agent`` (and the rest of ``chat_agent_executor``) does: it builds
its graph with LangGraph's own ``StateGraph``, so such a test runs on LangGraph's engine
either way and is not counted as public-API.
"""

from __future__ import annotations

from pathlib import Path

from ._classify import Classifier
from ._ratchet import PASSING
from ._rewrite import ImportMap

__all__ = ("PREBUILT_PASSING", "PrebuiltClassifier")

PREBUILT_PASSING = PASSING.with_name("langgraph_prebuilt_suite_passing.txt")

_RUN_UNCHANGED = ("langgraph.prebuilt", "langgraph.store.memory", "langgraph.store.base")
"""Modules whose objects run unchanged inside a scopegraph graph (the store: through
``compile(store=...)``)."""

_LANGGRAPH_ENGINE = frozenset({"create_react_agent", "AgentState", "AgentStatePydantic"})
"""Names of ``langgraph.prebuilt`` that build a LangGraph graph."""


class PrebuiltClassifier(Classifier):
    """:class:`Classifier` for the prebuilt tests (see the module)."""

    def __init__(self, root: Path, imports: ImportMap) -> None:
        super().__init__(root, imports)

    def _langgraph(self, module: str, name: str | None) -> str | None:
        label = super()._langgraph(module, name)
        if label is None or module.startswith("langgraph.prebuilt.chat_agent_executor"):
            return label
        if name in _LANGGRAPH_ENGINE:
            return label
        if module in _RUN_UNCHANGED or module.startswith("langgraph.prebuilt."):
            return None
        return label
