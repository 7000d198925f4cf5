"""``interrupt(value, response_schema=...)``: an interrupt that says what shape of answer
it expects; the schema is on the ``Interrupt`` the caller receives."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "interrupt(..., response_schema=...) and Interrupt.response_schema"


class State(TypedDict):
    approved: bool


SCHEMA = {"type": "object", "properties": {"approved": {"type": "boolean"}}}


async def review(state: State) -> dict[str, Any]:
    answer = interrupt("approve?", response_schema=SCHEMA)
    return {"approved": answer["approved"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}
    first = await graph.ainvoke({"approved": False}, config)
    pending = first["__interrupt__"][0]
    done = await graph.ainvoke(Command(resume={"approved": True}), config)
    return {"schema": pending.response_schema, "done": done}
