"""The nodes of one step that wait all start together (scopegraph's adaptive workers).

A step's nodes run on workers the host starts one per turn of the event loop while the
running ones are suspended; once a turn passes with the earlier workers still waiting in
their nodes, the host starts one worker per task left, all in the same turn. So a
fan-out of nodes that wait starts them within three turns, four on trio (LangGraph starts
a task per node in one turn): none of the later nodes is held back while the first ones'
waits run out (LangGraph's ``test_max_concurrency``). Turns are counted by a ticker task that
yields once per turn. Nodes that never await still share one worker. asyncio and trio.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import anyio.lowlevel
import pytest

from scopegraph.graph import START, StateGraph
from scopegraph.types import Send

pytestmark = pytest.mark.anyio

N = 20


class State(TypedDict):
    n: int
    done: Annotated[list[int], operator.add]


def _graph(node: Any) -> Any:
    def fan(state: State) -> list[Send]:
        return [Send("work", i) for i in range(state["n"])]

    builder = StateGraph(State).add_node("work", node)
    return builder.add_conditional_edges(START, fan, ["work"]).compile()


async def test_waiting_nodes_of_a_step_start_within_three_turns(anyio_backend: str) -> None:
    turn = 0
    started_at: list[int] = []
    release = anyio.Event()
    running = 0
    most = 0

    async def work(i: int) -> dict[str, Any]:
        nonlocal running, most
        started_at.append(turn)
        running += 1
        most = max(most, running)
        if len(started_at) == N:
            release.set()
        await release.wait()
        running -= 1
        return {"done": [i]}

    async def ticker() -> None:
        nonlocal turn
        while True:
            await anyio.lowlevel.checkpoint()
            turn += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        result = await _graph(work).ainvoke({"n": N, "done": []})
        tg.cancel_scope.cancel()

    assert sorted(result["done"]) == list(range(N))
    assert most == N
    # trio may run tasks started in one batch of its scheduler over two batches
    assert len(set(started_at)) <= 4, started_at  # one turn per node would be N turns


async def test_nodes_that_never_await_share_one_worker(anyio_backend: str) -> None:
    tasks: set[Any] = set()

    async def work(i: int) -> dict[str, Any]:
        tasks.add(anyio.get_current_task().id)
        return {"done": [i]}

    result = await _graph(work).ainvoke({"n": N, "done": []})
    assert sorted(result["done"]) == list(range(N))
    assert len(tasks) == 1
