"""``stream_mode="values"``: the input state first, then the full state after every step
that wrote something (LangGraph docs: "Streaming > values")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = 'stream_mode="values"'


class State(TypedDict):
    topic: str
    joke: str
    log: Annotated[list[str], operator.add]


async def refine_topic(state: State) -> dict[str, Any]:
    return {"topic": state["topic"] + " and cats", "log": ["refine"]}


async def noop(state: State) -> None:
    return None


async def generate_joke(state: State) -> dict[str, Any]:
    return {"joke": f"This is a joke about {state['topic']}", "log": ["joke"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("refine_topic", refine_topic)
    builder.add_node("noop", noop)
    builder.add_node("generate_joke", generate_joke)
    builder.add_edge(START, "refine_topic")
    builder.add_edge("refine_topic", "noop")
    builder.add_edge("noop", "generate_joke")
    builder.add_edge("generate_joke", END)
    graph = builder.compile()
    inputs: Any = {"topic": "ice cream", "log": []}  # joke comes later
    return {
        "astream": [chunk async for chunk in graph.astream(inputs, stream_mode="values")],
        "ainvoke_values": await graph.ainvoke(inputs, stream_mode="values"),
    }
