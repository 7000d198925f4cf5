"""Run input with a key that is not in the state schema (a typo such as ``"mesages"``)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "input key not in the state schema"
DIFFERENCE = "LangGraph drops the key silently; scopegraph raises InvalidInputError naming it"


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
    try:
        typo: Any = {"messages": [], "mesages": ["typo"]}
        return await graph.ainvoke(typo)
    except ValueError as exc:
        return (type(exc).__name__, "'mesages'" in str(exc))


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    assert langgraph_result == {"messages": ["node"]}
    assert scopegraph_result == ("InvalidInputError", True)
