"""Approve or reject: a node asks with ``interrupt()`` and routes with
``Command(goto=...)`` depending on the answer; resumed with ``Command(resume=...)``,
also with an ``update`` (LangGraph docs: "Interrupts > Approve or reject")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "interrupt() + Command(goto) approval; Command(resume=..., update=...)"


class State(TypedDict):
    action: str
    log: Annotated[list[str], operator.add]


async def propose(state: State) -> dict[str, Any]:
    return {"log": [f"propose {state['action']}"]}


async def approval(state: State) -> Command[Literal["proceed", "cancel"]]:
    approved = interrupt({"question": "Do you approve?", "action": state["action"]})
    return Command(goto="proceed" if approved else "cancel")


async def proceed(state: State) -> dict[str, Any]:
    return {"log": [f"did {state['action']}"]}


async def cancel(state: State) -> dict[str, Any]:
    return {"log": ["cancelled"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("propose", propose)
    builder.add_node("approval", approval)
    builder.add_node("proceed", proceed)
    builder.add_node("cancel", cancel)
    builder.add_edge(START, "propose")
    builder.add_edge("propose", "approval")
    builder.add_edge("proceed", END)
    builder.add_edge("cancel", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    results: dict[str, Any] = {}
    resumes: dict[str, Command[Any]] = {
        "approve": Command(resume=True),
        "reject": Command(resume=False),
        "edit_then_approve": Command(resume=True, update={"action": "edited transfer"}),
    }
    for label, resume in resumes.items():
        config: Any = {"configurable": {"thread_id": label}}
        first = await graph.ainvoke({"action": "transfer", "log": []}, config)
        results[label] = {
            "asked": [i.value for i in first["__interrupt__"]],
            "updates": [c async for c in graph.astream(resume, config)],
            "final": (await graph.aget_state(config)).values,
        }
    return results
