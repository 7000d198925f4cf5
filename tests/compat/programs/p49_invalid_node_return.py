"""A node returning something that is not a state update (not a dict, ``Command`` or
``None``) fails the run with ``InvalidUpdateError`` (LangGraph docs: "Errors >
INVALID_GRAPH_NODE_RETURN_VALUE")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.errors import InvalidUpdateError
from langgraph.graph import END, START, StateGraph

FEATURE = "InvalidUpdateError: node returns a non-dict"
DIFFERENCE = "same error and message, plus the node's name and what it may return"


class State(TypedDict):
    x: int


async def main() -> Any:
    results: dict[str, Any] = {}
    for label, value in (("int", 5), ("string", "hello"), ("list", [1, 2])):

        async def node(state: State, value: Any = value) -> Any:
            return value

        builder = StateGraph(State)
        builder.add_node("node", node)
        builder.add_edge(START, "node")
        builder.add_edge("node", END)
        try:
            await builder.compile().ainvoke({"x": 0})
            results[label] = "no error"
        except InvalidUpdateError as exc:
            results[label] = (type(exc).__name__, str(exc))
    return results


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    assert langgraph_result.keys() == scopegraph_result.keys()
    hint = ": node 'node' must return a dict of state updates, a Command, or None"
    for label, (lg_type, lg_message) in langgraph_result.items():
        sg_type, sg_message = scopegraph_result[label]
        assert lg_type == sg_type == "InvalidUpdateError"
        first_line, _, link = lg_message.partition("\n")
        assert sg_message == f"{first_line}{hint}\n{link}"
