"""With two pending interrupts, ``Command(resume=value)`` (no interrupt id) is
ambiguous: LangGraph raises ``RuntimeError`` and leaves the thread as it was, so that
``except RuntimeError`` handlers (and a retry with ids) work."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "ambiguous Command(resume=value) with several pending interrupts"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def asker(name: str) -> Any:
    async def node(state: State) -> dict[str, Any]:
        return {"log": [f"{name}:{interrupt(name)}"]}

    return node


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("p", asker("p"))
    builder.add_node("q", asker("q"))
    builder.add_edge(START, "p")
    builder.add_edge(START, "q")
    builder.add_edge("p", END)
    builder.add_edge("q", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}
    first = await graph.ainvoke({"log": []}, config)
    try:
        await graph.ainvoke(Command(resume="ambiguous"), config)
        error: Any = "no error"
    except RuntimeError as exc:
        error = ("RuntimeError", "interrupt id" in str(exc))
    state = await graph.aget_state(config)
    answers = {i.id: f"answer-{i.value}" for i in first["__interrupt__"]}
    return {
        "error": error,
        "next_after_error": state.next,
        "pending_after_error": len(state.interrupts),
        "resume_by_ids": await graph.ainvoke(Command(resume=answers), config),
    }
