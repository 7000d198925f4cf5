"""The measurements. Each is an async function of a :class:`~benchmarks._libs.Lib` and its
sizes, runs inside an event loop of either backend, checks that the graph did the
expected work, and returns one number (seconds, a rate per second, or bytes)."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from typing import Any

import anyio

from ._graphs import (
    CancelProbe,
    blocked_graph,
    chain_graph,
    custom_events_graph,
    fanout_graph,
    stream_writer_graph,
)
from ._libs import Lib
from ._timing import best_seconds

__all__ = (
    "cancel_latency",
    "chain_step_time",
    "concurrent_runs_peak_memory",
    "concurrent_runs_rate",
    "custom_events_rate",
    "fanout_task_time",
    "single_node_time",
    "stream_writer_rate",
)


def _expect(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


async def chain_step_time(lib: Lib, *, length: int, repeats: int) -> float:
    """Seconds per step of an ``ainvoke`` through a chain of ``length`` nodes."""
    graph = chain_graph(lib, length)

    async def sample() -> None:
        _expect(await graph.ainvoke({"x": 0}), {"x": length}, "chain result")

    return await best_seconds(sample, repeats=repeats, warmup=3) / length


async def single_node_time(lib: Lib, *, batch: int, repeats: int) -> float:
    """Seconds per ``ainvoke`` of a one-node graph (``batch`` sequential runs per sample)."""
    graph = chain_graph(lib, 1)

    async def sample() -> None:
        for _ in range(batch):
            await graph.ainvoke({"x": 0})
        _expect(await graph.ainvoke({"x": 0}), {"x": 1}, "one-node result")

    return await best_seconds(sample, repeats=repeats) / (batch + 1)


async def fanout_task_time(lib: Lib, *, width: int, repeats: int) -> float:
    """Seconds per task of an ``ainvoke`` that fans out to ``width`` tasks with ``Send``."""
    graph = fanout_graph(lib)

    async def sample() -> None:
        result = await graph.ainvoke({"n": width, "done": 0})
        _expect(result["done"], width, "fan-out tasks done")

    return await best_seconds(sample, repeats=repeats) / width


async def stream_writer_rate(lib: Lib, *, chunks: int, repeats: int) -> float:
    """``custom`` chunks per second through ``astream``, from one node's stream writer."""
    graph = stream_writer_graph(lib)

    async def sample() -> None:
        count = 0
        async for _ in graph.astream({"x": chunks}, stream_mode="custom"):
            count += 1
        _expect(count, chunks, "custom chunks received")

    return chunks / await best_seconds(sample, repeats=repeats)


async def custom_events_rate(lib: Lib, *, events: int, repeats: int) -> float:
    """``on_custom_event`` events per second through ``astream_events(version="v2")``."""
    graph = custom_events_graph(lib)

    async def sample() -> None:
        count = 0
        async for event in graph.astream_events({"x": events}, version="v2"):
            if event["event"] == "on_custom_event":
                count += 1
        _expect(count, events, "custom events received")

    return events / await best_seconds(sample, repeats=repeats)


async def _concurrent_runs(graph: Any, runs: int) -> None:
    finished = 0

    async def one() -> None:
        nonlocal finished
        _expect(await graph.ainvoke({"x": 0}), {"x": 5}, "5-node result")
        finished += 1

    async with anyio.create_task_group() as tg:
        for _ in range(runs):
            tg.start_soon(one)
    _expect(finished, runs, "concurrent runs finished")


async def concurrent_runs_rate(lib: Lib, *, runs: int, repeats: int) -> float:
    """Runs per second when ``runs`` ainvokes of a 5-node chain start at once."""
    graph = chain_graph(lib, 5)
    await _concurrent_runs(graph, min(runs, 100))
    seconds = await best_seconds(lambda: _concurrent_runs(graph, runs), repeats=repeats)
    return runs / seconds


async def concurrent_runs_peak_memory(lib: Lib, *, runs: int) -> float:
    """Peak bytes allocated (tracemalloc) while ``runs`` 5-node runs execute at once."""
    graph = chain_graph(lib, 5)
    await _concurrent_runs(graph, min(runs, 100))  # lazy imports and caches, untraced
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await _concurrent_runs(graph, runs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return float(peak - baseline)


async def cancel_latency(lib: Lib, *, trials: int, api: str = "ainvoke") -> float:
    """Median seconds from cancelling the consumer's cancel scope to the node's ``except``.

    The consumer awaits ``ainvoke`` (``api="ainvoke"``) or iterates ``astream``
    (``api="astream"``) of a graph whose one node waits forever.
    """
    if api not in ("ainvoke", "astream"):
        raise ValueError(f"api must be 'ainvoke' or 'astream', not {api!r}")
    probes: list[CancelProbe] = []
    graph = blocked_graph(lib, probes)

    async def consume(scope: anyio.CancelScope) -> None:
        with scope:
            if api == "ainvoke":
                await graph.ainvoke({"x": 0})
            else:
                async for _ in graph.astream({"x": 0}):
                    pass

    latencies: list[float] = []
    for trial in range(trials + 1):  # the first trial is a warm-up
        probe = CancelProbe()
        probes.append(probe)
        scope = anyio.CancelScope()
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume, scope)
            await probe.started.wait()
            cancelled = time.perf_counter()
            scope.cancel()
        if probe.cancelled_at is None:
            raise AssertionError("the node never saw the cancellation")
        if trial:
            latencies.append(probe.cancelled_at - cancelled)
    return statistics.median(latencies)
