"""Whether scopegraph gives its nodes LangGraph's config contract (``__pregel_runtime``,
the scratchpad ``langgraph.types.interrupt`` reads, ...: branch ``prebuilt``), which
adopted graphs whose nodes call LangGraph's helpers need. Tests of such graphs are marked
``@needs_contract``: skipped without it, run with it."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

import scopegraph


class _State(TypedDict):
    seen: bool


def langgraph_contract() -> bool:
    seen: list[bool] = []

    def probe(state: _State, config: scopegraph.RunnableConfig) -> dict[str, Any]:
        seen.append("__pregel_runtime" in config["configurable"])
        return {}

    builder = scopegraph.StateGraph(_State)
    builder.add_node("probe", probe)
    builder.add_edge(scopegraph.START, "probe")
    builder.compile().invoke({"seen": False})
    return seen == [True]


needs_contract = pytest.mark.skipif(
    not langgraph_contract(),
    reason="needs LangGraph's config contract in scopegraph nodes (branch prebuilt)",
)
