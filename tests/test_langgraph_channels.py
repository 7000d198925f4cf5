"""LangGraph's reducer channels given as ``Annotated`` metadata instances: scopegraph
reads ``DeltaChannel(reducer)`` (a batch reducer, ``reducer(state, [writes])``) and
``BinaryOperatorAggregate(typ, operator)`` as reducers of the key, so a state schema
written for LangGraph keeps its merge semantics (it used to become a last-value key,
losing every earlier write). The values are stored whole (LangGraph's DeltaChannel
stores writes and replays them: a storage layout, not a result). asyncio and trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.channels.delta import DeltaChannel

from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.graph import START, StateGraph

pytestmark = pytest.mark.anyio

batches: list[list[Any]] = []


def append_all(state: list[str], writes: list[list[str]]) -> list[str]:
    batches.append(writes)
    return [*state, *(item for write in writes for item in write)]


class State(TypedDict):
    log: Annotated[list[str], DeltaChannel(append_all)]
    total: Annotated[int, BinaryOperatorAggregate(int, operator.add)]


async def test_langgraph_reducer_channels_merge_writes(anyio_backend: str) -> None:
    batches.clear()

    async def a(state: State) -> dict[str, Any]:
        return {"log": ["a"], "total": 1}

    async def b(state: State) -> dict[str, Any]:
        return {"log": ["b"], "total": 10}

    graph = (
        StateGraph(State)
        .add_node("a", a)
        .add_node("b", b)
        .add_edge(START, "a")
        .add_edge(START, "b")
        .compile(checkpointer=InMemorySaver())
    )
    config: Any = {"configurable": {"thread_id": "t"}}
    first = await graph.ainvoke({"log": ["in"], "total": 100}, config)
    assert first == {"log": ["in", "a", "b"], "total": 111}
    second = await graph.ainvoke({"log": ["again"]}, config)  # the thread's state goes on
    assert second == {"log": ["in", "a", "b", "again", "a", "b"], "total": 122}
    assert all(len(batch) == 1 for batch in batches)  # folded one write at a time
    state = await graph.aget_state(config)
    assert state.values == second
