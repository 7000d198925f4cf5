"""A graph built with LangGraph itself, for ``scopegraph serve`` (which bridges it).

The same token-streaming graph as ``server_graph.graph``, written against LangGraph's
API: ``scopegraph serve --graph legacy=examples/langgraph_graph.py:graph``. Environment
variables as in ``server_graph.py``.
"""

from __future__ import annotations

import operator
import os
from typing import Annotated, TypedDict

import anyio
from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, StateGraph

INTERVAL = float(os.environ.get("SCOPEGRAPH_DEMO_INTERVAL", "0.05"))
CLEANUP = float(os.environ.get("SCOPEGRAPH_DEMO_CLEANUP", "0.2"))
CLEANUP_LOG = os.environ.get("SCOPEGRAPH_CLEANUP_LOG")


class State(TypedDict, total=False):
    prompt: str
    tokens: Annotated[list[str], operator.add]


async def _sentence(name: str, count: int, state: State) -> dict[str, list[str]]:
    write = get_stream_writer()
    run_id = get_config().get("metadata", {}).get("run_id", "-")
    words = (state.get("prompt") or "tell me a story").split()
    sent: list[str] = []
    try:
        for word in (words * count)[:count]:
            write({"node": name, "token": word})
            sent.append(word)
            await anyio.sleep(INTERVAL)
        return {"tokens": sent}
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(CLEANUP)
            if CLEANUP_LOG:
                with open(CLEANUP_LOG, "a", encoding="utf-8") as f:
                    f.write(f"cleanup-done {name} {run_id}\n")


async def think(state: State) -> dict[str, list[str]]:
    return await _sentence("think", 8, state)


async def answer(state: State) -> dict[str, list[str]]:
    return await _sentence("answer", 24, state)


builder = StateGraph(State)
builder.add_node("think", think)
builder.add_node("answer", answer)
builder.add_edge(START, "think")
builder.add_edge("think", "answer")
builder.add_edge("answer", END)
graph = builder.compile()
