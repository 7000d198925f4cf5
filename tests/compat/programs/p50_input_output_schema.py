"""``input_schema`` / ``output_schema``: the input is filtered by the input schema, the
result by the output schema; the streams show the whole state (LangGraph docs: "Define
input and output schemas")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "input_schema / output_schema"


class InputState(TypedDict):
    question: str


class OutputState(TypedDict):
    answer: str


class OverallState(InputState, OutputState):
    scratch: str


async def think(state: InputState) -> dict[str, Any]:
    return {"scratch": f"thinking about {state['question']}"}


async def answer(state: OverallState) -> OutputState:
    return {"answer": f"answer after {state['scratch']}"}


async def main() -> Any:
    builder = StateGraph(OverallState, input_schema=InputState, output_schema=OutputState)
    builder.add_node("think", think)
    builder.add_node("answer", answer)
    builder.add_edge(START, "think")
    builder.add_edge("think", "answer")
    builder.add_edge("answer", END)
    graph = builder.compile()
    inputs: InputState = {"question": "hi"}
    return {
        "invoke": await graph.ainvoke(inputs),
        "values": [c async for c in graph.astream(inputs, stream_mode="values")],
        "updates": [c async for c in graph.astream(inputs)],
    }
