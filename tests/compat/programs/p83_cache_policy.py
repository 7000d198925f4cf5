"""``CachePolicy`` with ``compile(cache=InMemoryCache())``: a cached node runs once per
input; later runs apply its writes (its routes too) and stream them with
``"__metadata__": {"cached": True}``; ``clear_cache()`` forgets them."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.cache.memory import InMemoryCache
from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy, Command

FEATURE = "node cache (CachePolicy, compile(cache=InMemoryCache()), clear_cache)"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def main() -> Any:
    calls: list[str] = []

    def expensive(state: State) -> Command[Any]:
        calls.append("expensive")
        return Command(update={"log": [f"computed from {len(state['log'])}"]}, goto="after")

    def after(state: State) -> dict[str, Any]:
        return {"log": ["after"]}

    builder = StateGraph(State)
    builder.add_node("expensive", expensive, cache_policy=CachePolicy(ttl=60))
    builder.add_node("after", after)
    builder.add_edge(START, "expensive")
    graph = builder.compile(cache=InMemoryCache())
    inp: Any = {"log": []}
    runs = [[c async for c in graph.astream(inp, stream_mode="updates")] for _ in range(2)]
    other: Any = {"log": ["x"]}
    different = await graph.ainvoke(other)
    await graph.aclear_cache()
    after_clear = await graph.ainvoke(inp)
    return {"runs": runs, "different": different, "after_clear": after_clear, "calls": calls}
