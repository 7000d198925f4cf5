"""Two parallel nodes writing the same key without a reducer: ``InvalidUpdateError``
(LangGraph docs: "Errors > INVALID_CONCURRENT_GRAPH_UPDATE")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.errors import InvalidUpdateError
from langgraph.graph import END, START, StateGraph

FEATURE = "InvalidUpdateError: concurrent writes to a key without reducer"
DIFFERENCE = (
    "same error and message start, plus the nodes that wrote the key and the fix; "
    "scopegraph's InvalidUpdateError is also a ValueError"
)


class State(TypedDict):
    x: int


async def one(state: State) -> dict[str, Any]:
    return {"x": 1}


async def two(state: State) -> dict[str, Any]:
    return {"x": 2}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("one", one)
    builder.add_node("two", two)
    builder.add_edge(START, "one")
    builder.add_edge(START, "two")
    builder.add_edge("one", END)
    builder.add_edge("two", END)
    graph = builder.compile()
    try:
        await graph.ainvoke({"x": 0})
        return "no error"
    except InvalidUpdateError as exc:
        return {
            "type": type(exc).__name__,
            "message": str(exc),
            "is_value_error": isinstance(exc, ValueError),
        }


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    lg, sg = langgraph_result, scopegraph_result
    assert lg["type"] == sg["type"] == "InvalidUpdateError"
    assert (lg["is_value_error"], sg["is_value_error"]) == (False, True)
    first_line, _, link = lg["message"].partition("\n")
    assert sg["message"].startswith(first_line)
    assert sg["message"].endswith("\n" + link)
    assert "nodes 'one' and 'two' both wrote it in step 1" in sg["message"]
