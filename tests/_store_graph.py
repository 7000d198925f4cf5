"""A served graph that keeps notes in the server's store (``runtime.store``), for the
store tests of the server: ``memo`` adds ``note`` (if any) under ``("notes", user)``
and returns every note stored there."""

from __future__ import annotations

from typing import Any, TypedDict

from scopegraph import END, START, StateGraph
from scopegraph.runtime import Runtime
from scopegraph.store import BaseStore


class State(TypedDict, total=False):
    user: str
    note: str
    notes: list[str]


async def remember(state: State, runtime: Runtime[Any]) -> State:
    store = runtime.store
    assert store is not None, "the server gives served graphs its store"
    namespace = ("notes", state["user"])
    if state.get("note"):
        await store.aput(namespace, state["note"], {"text": state["note"]})
    return {"notes": [item.value["text"] for item in await store.asearch(namespace, limit=100)]}


def count(state: State, store: BaseStore) -> State:
    # the same store, injected by parameter (LangGraph's way)
    store.put(("counts",), state["user"], {"notes": len(state.get("notes", []))})
    return {}


builder = StateGraph(State)
builder.add_node("remember", remember)
builder.add_node("count", count)
builder.add_edge(START, "remember")
builder.add_edge("remember", "count")
builder.add_edge("count", END)
graph = builder.compile()
