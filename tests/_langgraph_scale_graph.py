"""A graph built with LangGraph, for the scale-out test of adopted graphs: each node adds
its name, the worker's pid and the event loop it ran on (asyncio or trio) to the state."""

from __future__ import annotations

import operator
import os
from typing import Annotated, TypedDict

import sniffio
from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]


async def first(state: State) -> State:
    return {"steps": [f"first {os.getpid()} {sniffio.current_async_library()}"]}


async def second(state: State) -> State:
    return {"steps": [f"second {os.getpid()} {sniffio.current_async_library()}"]}


builder = StateGraph(State)
builder.add_node("first", first)
builder.add_node("second", second)
builder.add_edge(START, "first")
builder.add_edge("first", "second")
graph = builder.compile()
