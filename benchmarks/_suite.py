"""The benchmark table: what is measured, at which sizes, against which target; and
running it for scopegraph (asyncio, trio) and LangGraph (asyncio) in one process.

The checkpointed rows get a fresh, empty database for every measurement (a SQLite file in
a temporary directory, or a new database on one throwaway PostgreSQL server started for
the whole run); a row whose store is unavailable is reported as not run."""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import anyio

from . import _agent, _cases
from ._libs import Lib, langgraph, scopegraph
from ._stores import StoreKind, Stores, StoreUnavailable

__all__ = ("BENCHMARKS", "Benchmark", "Result", "measure", "run_suite")

Backend = Literal["asyncio", "trio"]


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One row of the table."""

    key: str
    title: str
    measure: Callable[..., Awaitable[float]]
    full: Mapping[str, Any]
    quick: Mapping[str, Any]
    unit: str
    scale: float
    """Multiplies the measured number into ``unit``."""
    ratio: Literal["lg/sg", "sg/lg"]
    """LangGraph's number over scopegraph's (times), or scopegraph's over LangGraph's."""
    target: str
    passes: Callable[[float, float], bool] | None
    """``passes(scopegraph value in unit, ratio)``; None for an informational row."""
    store: StoreKind | None = None
    """The checkpoint store the measurement needs, passed to it as ``store=``."""


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        key="chain",
        title="100-node chain, per step (ainvoke)",
        measure=_cases.chain_step_time,
        full={"length": 100, "repeats": 50},
        quick={"length": 20, "repeats": 5},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="≥ 20x",
        passes=lambda value, ratio: ratio >= 20,
    ),
    Benchmark(
        key="single",
        title="1-node graph, per run (ainvoke)",
        measure=_cases.single_node_time,
        full={"batch": 100, "repeats": 15},
        quick={"batch": 40, "repeats": 3},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="≥ 20x",
        passes=lambda value, ratio: ratio >= 20,
    ),
    Benchmark(
        key="fanout",
        title="1000-way Send fan-out, per task",
        measure=_cases.fanout_task_time,
        full={"width": 1000, "repeats": 7},
        quick={"width": 100, "repeats": 3},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="≥ 20x",
        passes=lambda value, ratio: ratio >= 20,
    ),
    Benchmark(
        key="stream",
        title="custom-mode astream, chunks/s",
        measure=_cases.stream_writer_rate,
        full={"chunks": 50_000, "repeats": 5},
        quick={"chunks": 2_000, "repeats": 3},
        unit="chunks/s",
        scale=1.0,
        ratio="sg/lg",
        target="≥ 10x",
        passes=lambda value, ratio: ratio >= 10,
    ),
    Benchmark(
        key="events",
        title="astream_events v2 custom events/s",
        measure=_cases.custom_events_rate,
        full={"events": 5_000, "repeats": 5},
        quick={"events": 300, "repeats": 3},
        unit="events/s",
        scale=1.0,
        ratio="sg/lg",
        target="≥ 50x",
        passes=lambda value, ratio: ratio >= 50,
    ),
    Benchmark(
        key="concurrent",
        title="1000 concurrent 5-node runs, runs/s",
        measure=_cases.concurrent_runs_rate,
        full={"runs": 1000, "repeats": 3},
        quick={"runs": 100, "repeats": 2},
        unit="runs/s",
        scale=1.0,
        ratio="sg/lg",
        target="≥ 30x",
        passes=lambda value, ratio: ratio >= 30,
    ),
    Benchmark(
        key="memory",
        title="1000 concurrent 5-node runs, peak memory",
        measure=_cases.concurrent_runs_peak_memory,
        full={"runs": 1000},
        quick={"runs": 100},
        unit="MB",
        scale=1e-6,
        ratio="sg/lg",
        target="≤ 0.25x",
        passes=lambda value, ratio: ratio <= 0.25,
    ),
    Benchmark(
        key="agent",
        title="create_agent ReAct loop (scripted model, 3 tools), per turn",
        measure=_agent.agent_turn_time,
        full={"turns": 10, "repeats": 20},
        quick={"turns": 10, "repeats": 3},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="(info)",
        passes=None,
    ),
    Benchmark(
        key="agent-overhead",
        title="create_agent ReAct loop, per turn beyond the model and tool calls alone",
        measure=_agent.agent_turn_overhead,
        full={"turns": 10, "repeats": 20},
        quick={"turns": 10, "repeats": 3},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="(info)",
        passes=None,
    ),
    Benchmark(
        key="agent-memory",
        title="100 concurrent 10-turn create_agent runs, peak memory",
        measure=_agent.agent_peak_memory,
        full={"runs": 100, "turns": 10},
        quick={"runs": 10, "turns": 10},
        unit="MB",
        scale=1e-6,
        ratio="sg/lg",
        target="(info)",
        passes=None,
    ),
    Benchmark(
        key="cancel",
        title="cancellation latency, ainvoke consumer",
        measure=_cases.cancel_latency,
        full={"trials": 50, "api": "ainvoke"},
        quick={"trials": 5, "api": "ainvoke"},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="< 1 ms",
        passes=lambda value, ratio: value < 1000,
    ),
    Benchmark(
        key="cancel-stream",
        title="cancellation latency, astream consumer",
        measure=_cases.cancel_latency,
        full={"trials": 50, "api": "astream"},
        quick={"trials": 5, "api": "astream"},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="< 1 ms",
        passes=lambda value, ratio: value < 1000,
    ),
    Benchmark(
        key="sqlite-step",
        title="SQLite saver, 20-node chain, per checkpointed step (durability=sync)",
        measure=_cases.checkpointed_step_time,
        full={"length": 20, "repeats": 20, "durability": "sync"},
        quick={"length": 10, "repeats": 5, "durability": "sync"},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="≥ 3x",
        passes=lambda value, ratio: ratio >= 3,
        store="sqlite",
    ),
    Benchmark(
        key="sqlite-step-async",
        title="SQLite saver, 20-node chain, per checkpointed step (durability=async)",
        measure=_cases.checkpointed_step_time,
        full={"length": 20, "repeats": 20, "durability": "async"},
        quick={"length": 10, "repeats": 5, "durability": "async"},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="(info)",
        passes=None,
        store="sqlite",
    ),
    Benchmark(
        key="postgres-step",
        title="Postgres saver, 20-node chain, per checkpointed step (durability=sync)",
        measure=_cases.checkpointed_step_time,
        full={"length": 20, "repeats": 20, "durability": "sync"},
        quick={"length": 10, "repeats": 5, "durability": "sync"},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        target="≥ 3x",
        passes=lambda value, ratio: ratio >= 3,
        store="postgres",
    ),
    Benchmark(
        key="sqlite-get-state",
        title="SQLite saver, aget_state of a 20-checkpoint thread",
        measure=_cases.get_state_time,
        full={"checkpoints": 20, "batch": 50, "repeats": 10},
        quick={"checkpoints": 20, "batch": 20, "repeats": 3},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        # The issue asks for get_state latency side by side, with no target of its own.
        target="(info)",
        passes=None,
        store="sqlite",
    ),
    Benchmark(
        key="postgres-get-state",
        title="Postgres saver, aget_state of a 20-checkpoint thread",
        measure=_cases.get_state_time,
        full={"checkpoints": 20, "batch": 50, "repeats": 10},
        quick={"checkpoints": 20, "batch": 20, "repeats": 3},
        unit="µs",
        scale=1e6,
        ratio="lg/sg",
        # The issue asks for get_state latency side by side, with no target of its own.
        target="(info)",
        passes=None,
        store="postgres",
    ),
)


@dataclasses.dataclass(frozen=True)
class Result:
    """One benchmark's numbers, in the benchmark's unit; all None when it was not run."""

    benchmark: Benchmark
    sizes: Mapping[str, Any]
    scopegraph: float | None
    langgraph: float | None
    scopegraph_trio: float | None
    not_run: str | None = None
    """Why the benchmark was not run (its store is unavailable), else None."""

    @property
    def ratio(self) -> float | None:
        if self.scopegraph is None or self.langgraph is None:
            return None
        if self.benchmark.ratio == "lg/sg":
            return self.langgraph / self.scopegraph
        return self.scopegraph / self.langgraph

    @property
    def passed(self) -> bool | None:
        """Whether the target was met; None if not run or the row has no target."""
        ratio = self.ratio
        if self.benchmark.passes is None or self.scopegraph is None or ratio is None:
            return None
        return self.benchmark.passes(self.scopegraph, ratio)


def measure(
    benchmark: Benchmark,
    lib: Lib,
    backend: Backend,
    sizes: Mapping[str, Any],
    stores: Stores | None = None,
) -> float:
    """Run one measurement in a fresh event loop; the number in the benchmark's unit.

    A checkpointed benchmark gets a new store from ``stores`` (required for it); raises
    :class:`StoreUnavailable` if there is none to be had.
    """
    kwargs = dict(sizes)
    if benchmark.store is not None:
        if stores is None:
            raise ValueError(f"the benchmark {benchmark.key!r} needs stores")
        kwargs["store"] = stores.new(benchmark.store)
    value = anyio.run(functools.partial(benchmark.measure, lib, **kwargs), backend=backend)
    return value * benchmark.scale


def run_suite(benchmarks: Sequence[Benchmark], *, quick: bool, trio: bool = True) -> list[Result]:
    """Measure every benchmark for scopegraph and LangGraph; progress goes to stderr."""
    results = []
    with Stores() as stores:
        for benchmark in benchmarks:
            sizes = benchmark.quick if quick else benchmark.full
            print(f"  {benchmark.key}: scopegraph", end="", file=sys.stderr, flush=True)
            try:
                sg = measure(benchmark, scopegraph(), "asyncio", sizes, stores)
            except StoreUnavailable as exc:
                print(f": NOT RUN, {exc}", file=sys.stderr)
                results.append(Result(benchmark, sizes, None, None, None, not_run=str(exc)))
                continue
            print(", LangGraph", end="", file=sys.stderr, flush=True)
            lg = measure(benchmark, langgraph(), "asyncio", sizes, stores)
            sg_trio = None
            if trio:
                print(", scopegraph on trio", end="", file=sys.stderr, flush=True)
                sg_trio = measure(benchmark, scopegraph(), "trio", sizes, stores)
            print(file=sys.stderr)
            results.append(Result(benchmark, sizes, sg, lg, sg_trio))
    return results
