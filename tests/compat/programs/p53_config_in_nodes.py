"""Run configuration inside nodes: ``configurable`` values, ``get_config()``, tags and
metadata (LangGraph docs: "Add runtime configuration")."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph

FEATURE = "RunnableConfig in nodes: configurable, get_config(), tags, metadata"


class State(TypedDict):
    seen: list[Any]


async def with_param(state: State, config: RunnableConfig) -> dict[str, Any]:
    configurable = config.get("configurable", {})
    metadata = config.get("metadata", {})
    return {
        "seen": [
            configurable.get("user_id"),
            configurable.get("model"),
            metadata.get("langgraph_node"),
            metadata.get("langgraph_step"),
            metadata.get("request"),
            config.get("tags"),
        ]
    }


async def with_get_config(state: State) -> dict[str, Any]:
    config = get_config()
    return {
        "seen": [
            *state["seen"],
            config["configurable"].get("user_id"),
            config["metadata"].get("langgraph_node"),
            config.get("recursion_limit"),
        ]
    }


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("with_param", with_param)
    builder.add_node("with_get_config", with_get_config)
    builder.add_edge(START, "with_param")
    builder.add_edge("with_param", "with_get_config")
    builder.add_edge("with_get_config", END)
    graph = builder.compile()
    config: RunnableConfig = {
        "configurable": {"user_id": "u-1", "model": "small"},
        "tags": ["demo"],
        "metadata": {"request": "r-9"},
        "recursion_limit": 7,
    }
    return {
        "configured": await graph.ainvoke({"seen": []}, config),
        "plain": await graph.ainvoke({"seen": []}),
    }
