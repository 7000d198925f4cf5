"""The Functional API on LangGraph and on scopegraph: an entrypoint awaiting 10 async tasks.

``python -m benchmarks.functional``: ``ainvoke`` on asyncio, the best of 5 rounds of 1000
runs each, per library, in milliseconds per run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

TASKS = 10
ROUNDS = 5
RUNS = 1000


def build_langgraph() -> Any:
    from langgraph.func import entrypoint, task

    @task
    async def double(x: int) -> int:
        return x * 2

    @entrypoint()
    async def workflow(n: int) -> list[int]:
        return [await f for f in [double(i) for i in range(n)]]

    return workflow


def build_scopegraph() -> Any:
    from scopegraph.func import entrypoint, task

    @task
    async def double(x: int) -> int:
        return x * 2

    @entrypoint()
    async def workflow(n: int) -> list[int]:
        return [await f for f in [double(i) for i in range(n)]]

    return workflow


async def measure(workflow: Any) -> float:
    for _ in range(RUNS // 5):
        await workflow.ainvoke(TASKS)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(RUNS):
            await workflow.ainvoke(TASKS)
        best = min(best, (time.perf_counter() - started) / RUNS * 1000)
    return best


def main() -> None:
    for package, build in (("langgraph", build_langgraph), ("scopegraph", build_scopegraph)):
        ms = asyncio.run(measure(build()))
        print(f"{package}: entrypoint + {TASKS} async tasks, ainvoke: {ms:.2f} ms per run")


if __name__ == "__main__":
    main()
