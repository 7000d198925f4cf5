"""Several pending interrupts (two parallel nodes interrupt in the same step), resumed
with ``Command(resume={interrupt_id: value})``, first partially, then the rest
(LangGraph docs: "Interrupts > Handling multiple interrupts")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "parallel interrupts resumed by interrupt id (partial, then all)"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def asker(name: str) -> Any:
    async def node(state: State) -> dict[str, Any]:
        return {"log": [f"{name}:{interrupt({'ask': name})}"]}

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
    ids = {i.value["ask"]: i.id for i in first["__interrupt__"]}
    partial = await graph.ainvoke(Command(resume={ids["p"]: "yes-p"}), config)
    state = await graph.aget_state(config)
    rest = await graph.ainvoke(Command(resume={ids["q"]: "yes-q"}), config)
    return {
        "first": first,
        "partial": partial,
        "partial_next": state.next,
        "partial_values": state.values,
        "rest": rest,
    }
