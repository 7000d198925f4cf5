"""State schemas other than TypedDict: a dataclass and a pydantic model (nodes receive
instances; the run returns a dict) (LangGraph docs: "Graph API > State > Schema")."""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

FEATURE = "dataclass and pydantic BaseModel state schemas"


@dataclasses.dataclass
class DataState:
    x: int = 0
    log: Annotated[list[str], operator.add] = dataclasses.field(default_factory=list)


class ModelState(BaseModel):
    x: int = 0
    log: Annotated[list[str], operator.add] = []


async def main() -> Any:
    seen: list[str] = []

    async def data_node(state: DataState) -> dict[str, Any]:
        seen.append(type(state).__name__)
        return {"x": state.x + 1, "log": ["data"]}

    async def model_node(state: ModelState) -> dict[str, Any]:
        seen.append(type(state).__name__)
        return {"x": state.x + 10, "log": ["model"]}

    results: dict[str, Any] = {}
    cases: list[tuple[str, Any, Any]] = [
        ("dataclass", DataState, data_node),
        ("pydantic", ModelState, model_node),
    ]
    for label, schema, node in cases:
        builder = StateGraph(schema)
        builder.add_node("node", node)
        builder.add_edge(START, "node")
        builder.add_edge("node", END)
        graph = builder.compile()
        results[label] = {
            "invoke": await graph.ainvoke({"x": 1}),
            "values": [c async for c in graph.astream({"x": 1}, stream_mode="values")],
        }
    results["pydantic_instance_input"] = await graph.ainvoke(ModelState(x=5))
    results["node_saw"] = seen
    return results
