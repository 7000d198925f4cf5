"""The sync APIs called from async code, as LangGraph allows: the run gets an event loop
of its own in a thread, the caller waits for it, and nothing of it runs afterwards."""

from __future__ import annotations

import operator
import threading
from typing import Annotated, Any, TypedDict

import pytest

from scopegraph import START, StateGraph
from scopegraph.checkpoint import InMemorySaver

pytestmark = pytest.mark.anyio


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def test_invoke_stream_and_update_state_work_from_async_code() -> None:
    threads: list[int] = []

    async def node(state: State) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {"log": ["node"]}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    assert graph.invoke({"log": ["in"]}, config) == {"log": ["in", "node"]}
    assert list(graph.stream({"log": []}, config, stream_mode="updates")) == [
        {"node": {"log": ["node"]}}
    ]
    graph.update_state(config, {"log": ["edit"]})
    assert graph.get_state(config).values == {"log": ["in", "node", "node", "edit"]}
    # The runs had event loops of their own, in other threads; both have ended.
    assert threading.get_ident() not in threads
    assert all(not t.is_alive() for t in threading.enumerate() if t.ident in threads)
