"""A store shared by the nodes of a graph: ``compile(store=...)``, a ``store`` parameter,
``runtime.store``, filters, semantic search with an index, namespaces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

FEATURE = "store: compile(store=...), store parameter, runtime.store, filter and query search"


def embed(texts: Sequence[str]) -> list[list[float]]:
    return [[float(text.count(letter)) for letter in "aeiou"] for text in texts]


class State(TypedDict, total=False):
    user: str
    fact: str
    found: list[Any]


def remember(state: State, store: BaseStore) -> State:
    namespace = ("memories", state["user"])
    store.put(namespace, f"m{len(store.search(namespace, limit=100))}", {"text": state["fact"]})
    return {}


async def recall(state: State, runtime: Runtime[Any]) -> State:
    namespace = ("memories", state["user"])
    store = runtime.store
    assert store is not None
    found = await store.asearch(namespace, query="banana", limit=2)
    return {"found": [(i.key, i.value["text"], round(i.score or 0.0, 6)) for i in found]}


async def main() -> Any:
    store = InMemoryStore(index={"dims": 5, "embed": embed, "fields": ["text"]})
    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    graph = builder.compile(store=store)
    results = []
    for fact in ["likes apples", "owns a banana boat", "hates onions"]:
        results.append(await graph.ainvoke({"user": "u1", "fact": fact}))
    await graph.ainvoke({"user": "u2", "fact": "reads books"})
    filtered = store.search(("memories",), filter={"text": "reads books"})
    return {
        "runs": [r["found"] for r in results],
        "filtered": [(i.namespace, i.key) for i in filtered],
        "namespaces": store.list_namespaces(prefix=("memories",)),
        "depth1": store.list_namespaces(max_depth=1),
    }
