"""A four-step graph for the scale-out process tests: each node logs that it started (to
``$SCOPEGRAPH_SCALE_LOG``, with the worker's pid), streams a few custom chunks with short
sleeps (so a worker can be killed mid-node), and adds its name to the state."""

from __future__ import annotations

import operator
import os
from typing import Annotated, TypedDict

import anyio

from scopegraph import END, START, StateGraph, get_stream_writer

LOG = os.environ.get("SCOPEGRAPH_SCALE_LOG")
NODES = ("n1", "n2", "n3", "n4")


class State(TypedDict, total=False):
    done: Annotated[list[str], operator.add]


def _step(name: str):  # type: ignore[no-untyped-def]
    async def node(state: State) -> State:
        if LOG:
            with open(LOG, "a", encoding="utf-8") as f:  # noqa: ASYNC230 - a one-line test log
                f.write(f"start {name} {os.getpid()}\n")
        write = get_stream_writer()
        for i in range(5):
            write({"node": name, "i": i})
            await anyio.sleep(0.06)
        return {"done": [name]}

    return node


builder = StateGraph(State)
for node_name in NODES:
    builder.add_node(node_name, _step(node_name))
builder.add_edge(START, "n1")
builder.add_edge("n1", "n2")
builder.add_edge("n2", "n3")
builder.add_edge("n3", "n4")
builder.add_edge("n4", END)
graph = builder.compile()
