"""Run-scoped context: ``StateGraph(State, context_schema=Context)``, nodes that take a
``runtime: Runtime[Context]`` and ``ainvoke(..., context=...)`` (LangGraph docs: "Add
runtime configuration > Runtime context")."""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

FEATURE = "context_schema and Runtime[Context] (langgraph.runtime)"


@dataclasses.dataclass
class Context:
    user_name: str


class State(TypedDict):
    greeting: str


async def greet(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    return {"greeting": f"hello {runtime.context.user_name}"}


async def main() -> Any:
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("greet", greet)
    builder.add_edge(START, "greet")
    builder.add_edge("greet", END)
    graph = builder.compile()
    return await graph.ainvoke({"greeting": ""}, context=Context(user_name="Ada"))
