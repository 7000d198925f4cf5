"""Stream a graph's custom events with open_stream (docs/getting-started.md)."""

import operator
from typing import Annotated, TypedDict

import anyio

from scopegraph import END, START, StateGraph, get_stream_writer


class State(TypedDict):
    topic: str
    notes: Annotated[list[str], operator.add]


async def research(state: State) -> dict[str, list[str]]:
    write = get_stream_writer()
    try:
        for i in range(3):
            write({"progress": i})
            await anyio.sleep(0.1)
        return {"notes": [f"facts about {state['topic']}"]}
    finally:
        with anyio.CancelScope(shield=True):  # always completes, even on cancel
            await anyio.sleep(0.01)  # e.g. release a lock, flush a log


graph = StateGraph(State)
graph.add_node("research", research)
graph.add_edge(START, "research")
graph.add_edge("research", END)
app = graph.compile()


async def main() -> None:
    async with app.open_stream({"topic": "otters"}, stream_mode="custom") as stream:
        async for chunk in stream:
            print(chunk)


anyio.run(main)  # or anyio.run(main, backend="trio")
