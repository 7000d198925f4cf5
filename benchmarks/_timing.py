"""How a measurement is taken: warm-up, repeated samples, the best one.

The best (smallest) time, not the median: on a shared machine other processes only ever
add time, so the minimum is the most reproducible estimate of a library's own cost. The
garbage collector stays enabled (a library's garbage is part of its cost) and is emptied
before every sample, identically for both libraries.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable

__all__ = ("best_seconds",)


async def best_seconds(
    sample: Callable[[], Awaitable[object]], *, repeats: int, warmup: int = 1
) -> float:
    """The smallest wall-clock time of ``repeats`` calls of ``sample``, after ``warmup`` calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    for _ in range(warmup):
        await sample()
    times: list[float] = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        await sample()
        times.append(time.perf_counter() - start)
    return min(times)
