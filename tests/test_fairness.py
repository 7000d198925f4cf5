"""A run of nodes that never await still lets the event loop, and a cancellation, in."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
import pytest

from scopegraph import END, START, StateGraph

pytestmark = pytest.mark.anyio

STEPS = 200_000


class Count(TypedDict):
    n: int


async def test_a_long_run_of_cpu_only_nodes_can_be_cancelled_from_another_task() -> None:
    seen = {"n": 0}

    async def tick(state: Count) -> dict[str, Any]:
        seen["n"] = state["n"] + 1
        return {"n": state["n"] + 1}

    graph = StateGraph(Count)
    graph.add_node("tick", tick)
    graph.add_edge(START, "tick")
    graph.add_conditional_edges("tick", lambda s: "tick" if s["n"] < STEPS else END)
    app = graph.compile()

    async with anyio.create_task_group() as tg:

        async def cancel_once_running() -> None:
            # Runs only when the superstep loop yields to the event loop.
            while seen["n"] == 0:
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()

        tg.start_soon(cancel_once_running)
        await app.ainvoke({"n": 0}, {"recursion_limit": STEPS + 10})
        pytest.fail("the run finished: the loop never let the cancelling task run")
    assert 0 < seen["n"] < STEPS
