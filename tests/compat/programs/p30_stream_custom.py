"""``stream_mode="custom"``: whatever a node passes to ``get_stream_writer()`` is
streamed as is; ``ainvoke`` drops it (LangGraph docs: "Streaming > Stream custom
data")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

FEATURE = 'stream_mode="custom" with get_stream_writer()'


class State(TypedDict):
    query: str
    answer: str


async def node(state: State) -> dict[str, Any]:
    writer = get_stream_writer()
    writer({"custom_key": "Generating custom data inside node"})
    writer("a plain string")
    writer(42)
    return {"answer": "some data"}


async def after(state: State) -> dict[str, Any]:
    get_stream_writer()({"progress": "done"})
    return {"answer": state["answer"] + "!"}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_node("after", after)
    builder.add_edge(START, "node")
    builder.add_edge("node", "after")
    builder.add_edge("after", END)
    graph = builder.compile()
    inputs: Any = {"query": "example"}  # answer comes later
    return {
        "custom": [c async for c in graph.astream(inputs, stream_mode="custom")],
        "custom_and_updates": [
            c async for c in graph.astream(inputs, stream_mode=["custom", "updates"])
        ],
        "ainvoke": await graph.ainvoke(inputs),
    }
