"""Map-reduce with ``Send``: one task per subject with its own input, results reduced in
``Send`` order, then a reduce step (LangGraph docs: "Map-reduce and the Send API")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

FEATURE = "Send map-reduce (fan out with per-task input, reduce)"


class OverallState(TypedDict):
    topic: str
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]
    best: str


class JokeState(TypedDict):
    subject: str


async def generate_topics(state: OverallState) -> dict[str, Any]:
    return {"subjects": [f"{state['topic']}-{i}" for i in range(4)]}


async def generate_joke(state: JokeState) -> dict[str, Any]:
    return {"jokes": [f"joke about {state['subject']}"]}


def continue_to_jokes(state: OverallState) -> list[Send]:
    return [Send("generate_joke", {"subject": s}) for s in state["subjects"]]


async def best_joke(state: OverallState) -> dict[str, Any]:
    return {"best": max(state["jokes"])}


async def main() -> Any:
    builder = StateGraph(OverallState)
    builder.add_node("generate_topics", generate_topics)
    builder.add_node("generate_joke", generate_joke)
    builder.add_node("best_joke", best_joke)
    builder.add_edge(START, "generate_topics")
    builder.add_conditional_edges("generate_topics", continue_to_jokes, ["generate_joke"])
    builder.add_edge("generate_joke", "best_joke")
    builder.add_edge("best_joke", END)
    graph = builder.compile()
    inputs: Any = {"topic": "otters", "jokes": []}  # subjects and best come later
    updates = [c async for c in graph.astream(inputs, stream_mode="updates")]
    return {
        "invoke": await graph.ainvoke(inputs),
        "values": [c async for c in graph.astream(inputs, stream_mode="values")],
        # The four generate_joke updates come in completion order: compare them as a set.
        "updates": [updates[0], sorted(updates[1:5], key=repr), updates[5]],
    }
