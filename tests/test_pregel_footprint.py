"""What a finished run leaves behind: nothing the cyclic garbage collector must free.

A run held in a reference cycle keeps its values, tasks and options alive until the next
collection: thousands of concurrent runs then cost memory and collector passes. These
tests run with the collector off and look for the run objects that outlived their call.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypedDict

import pytest

from scopegraph import END, START, StateGraph
from scopegraph._pregel import Run

pytestmark = pytest.mark.anyio


class Counter(TypedDict):
    x: int


async def increment(state: Counter) -> dict[str, int]:
    return {"x": state["x"] + 1}


def _chain(length: int, **compile_options: Any) -> Any:
    builder = StateGraph(Counter)
    names = [f"n{i}" for i in range(length)]
    for name in names:
        builder.add_node(name, increment)
    builder.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(**compile_options)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _live_runs() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Run)


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda g: g.ainvoke({"x": 0}), id="ainvoke"),
        pytest.param(lambda g: g.ainvoke({"x": 0}, {"tags": ["t"]}), id="ainvoke-config"),
        pytest.param(lambda g: g.ainvoke({"x": 0}, stream_mode="updates"), id="ainvoke-updates"),
    ],
)
async def test_a_finished_run_is_freed_without_the_cyclic_collector(
    call: Callable[[Any], Awaitable[Any]],
) -> None:
    graph = _chain(5)
    before = _live_runs()
    for _ in range(3):
        await call(graph)
    assert _live_runs() == before


@pytest.mark.usefixtures("collector_off")
async def test_a_run_with_a_step_timeout_is_freed_without_the_cyclic_collector() -> None:
    graph = _chain(3)
    graph.step_timeout = 10.0
    before = _live_runs()
    assert await graph.ainvoke({"x": 0}) == {"x": 3}
    assert _live_runs() == before
