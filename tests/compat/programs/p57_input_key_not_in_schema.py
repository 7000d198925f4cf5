"""Run input with a key that is not in the state schema (a typo such as ``"mesages"``).

LangGraph drops the key; so does scopegraph by default (``compile(strict=True)`` raises
InvalidInputError naming it instead).
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "input key not in the state schema (dropped)"


class State(TypedDict):
    messages: list[str]


async def node(state: State) -> dict[str, Any]:
    return {"messages": [*state.get("messages", []), "node"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile()
    typo: Any = {"messages": [], "mesages": ["typo"]}
    return {
        "result": await graph.ainvoke(typo),
        "chunks": [c async for c in graph.astream(typo, stream_mode=["updates", "values"])],
    }
