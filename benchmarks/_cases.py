"""The measurements. Each is an async function of a :class:`~benchmarks._libs.Lib` and its
sizes, runs inside an event loop of either backend, checks that the graph did the
expected work, and returns one number (seconds, a rate per second, or bytes)."""

from __future__ import annotations

import gc
import itertools
import statistics
import time
import tracemalloc
from contextlib import AbstractAsyncContextManager
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
from ._stores import Store
from ._timing import best_seconds

__all__ = (
    "cancel_latency",
    "chain_step_time",
    "checkpointed_step_time",
    "concurrent_runs_peak_memory",
    "concurrent_runs_rate",
    "custom_events_rate",
    "fanout_task_time",
    "get_state_time",
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


def _saver(lib: Lib, store: Store) -> AbstractAsyncContextManager[Any]:
    if store.kind == "sqlite":
        return lib.sqlite_saver(store.target)
    return lib.postgres_saver(store.target)


def _thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


async def _check_thread(graph: Any, thread_id: str, length: int, checkpoints: int) -> None:
    """The thread's stored state is the finished chain's, with every step checkpointed."""
    snapshot = await graph.aget_state(_thread(thread_id))
    _expect(snapshot.values, {"x": length}, f"stored state of thread {thread_id}")
    _expect(tuple(snapshot.next), (), f"next nodes of thread {thread_id}")
    if checkpoints:
        stored = [s async for s in graph.aget_state_history(_thread(thread_id))]
        if len(stored) < checkpoints:
            raise AssertionError(
                f"thread {thread_id}: expected at least {checkpoints} checkpoints, "
                f"found {len(stored)}"
            )


async def checkpointed_step_time(
    lib: Lib, *, store: Store, length: int, repeats: int, durability: str
) -> float:
    """Seconds per superstep of an ``ainvoke`` through a chain of ``length`` nodes with a
    checkpointer on ``store``; every run on a new thread, with ``durability``."""
    if durability not in ("sync", "async", "exit"):
        raise ValueError(f"durability must be 'sync', 'async' or 'exit', not {durability!r}")
    async with _saver(lib, store) as saver:
        graph = chain_graph(lib, length, saver)
        threads = (f"run-{i}" for i in itertools.count())
        used: list[str] = []

        async def sample() -> None:
            thread_id = next(threads)
            used.append(thread_id)
            result = await graph.ainvoke({"x": 0}, _thread(thread_id), durability=durability)
            _expect(result, {"x": length}, "checkpointed chain result")

        seconds = await best_seconds(sample, repeats=repeats, warmup=2)
        for thread_id in used:
            await _check_thread(graph, thread_id, length, 0)
        # One checkpoint per step at least ("exit" writes only the last).
        await _check_thread(graph, used[-1], length, length if durability != "exit" else 1)
    return seconds / length


async def get_state_time(
    lib: Lib, *, store: Store, checkpoints: int, batch: int, repeats: int
) -> float:
    """Seconds per ``aget_state`` of a finished thread with about ``checkpoints``
    checkpoints (a chain of ``checkpoints - 2`` nodes run with ``durability="sync"``:
    the input, the start and one per node); ``batch`` calls per sample."""
    length = max(checkpoints - 2, 1)
    async with _saver(lib, store) as saver:
        graph = chain_graph(lib, length, saver)
        for thread_id in ("other-1", "target", "other-2"):  # not alone in the tables
            await graph.ainvoke({"x": 0}, _thread(thread_id), durability="sync")
        await _check_thread(graph, "target", length, checkpoints)
        config = _thread("target")

        async def sample() -> None:
            for _ in range(batch):
                snapshot = await graph.aget_state(config)
                _expect(snapshot.values, {"x": length}, "get_state values")

        return await best_seconds(sample, repeats=repeats) / batch
