"""Persistence and a human in the loop: interrupt(), then Command(resume=...)
(docs/getting-started.md). Keeps its checkpoints in ./state.db."""

from typing import TypedDict

import anyio

from scopegraph import END, START, Command, RunnableConfig, StateGraph, interrupt
from scopegraph.checkpoint import SqliteSaver


class State(TypedDict, total=False):
    draft: str
    published: bool


def write(state: State) -> State:
    return {"draft": "Otters hold hands while they sleep."}


def review(state: State) -> State:
    answer = interrupt({"question": "Publish this?", "draft": state["draft"]})
    return {"published": answer == "yes"}


builder = StateGraph(State)
builder.add_node("write", write)
builder.add_node("review", review)
builder.add_edge(START, "write")
builder.add_edge("write", "review")
builder.add_edge("review", END)


async def main() -> None:
    with SqliteSaver("state.db") as saver:  # or InMemorySaver(), PostgresSaver(url)
        app = builder.compile(checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": "post-1"}}
        result = await app.ainvoke({}, config)  # runs until interrupt(), checkpointing
        print(result["__interrupt__"][0].value)
        snapshot = await app.aget_state(config)
        print(snapshot.next)  # the node waiting for an answer
        print(await app.ainvoke(Command(resume="yes"), config))


anyio.run(main)
