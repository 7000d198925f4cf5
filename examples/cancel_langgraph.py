"""A node with a shielded cleanup, cancelled after a moment, on LangGraph."""

from typing import TypedDict

import anyio
from langgraph.graph import END, START, StateGraph  # on scopegraph: from scopegraph import ...


class State(TypedDict):
    topic: str


async def research(state: State) -> State:
    try:
        await anyio.sleep(10)  # a slow call: a model, a tool
        return {"topic": state["topic"]}
    finally:
        print("cleanup started")
        with anyio.CancelScope(shield=True):  # must complete: release a lock, flush a log
            await anyio.sleep(0.1)
        print("cleanup finished")


builder = StateGraph(State)
builder.add_node("research", research)
builder.add_edge(START, "research")
builder.add_edge("research", END)
graph = builder.compile()


async def main() -> None:
    with anyio.move_on_after(0.2):  # the user presses Stop after 0.2 s
        async for chunk in graph.astream({"topic": "otters"}):
            print(chunk)
    print("astream returned")


anyio.run(main)  # LangGraph runs on asyncio only
