"""Start a task that no caller owns: the one backend-specific piece of scopegraph.

The async-generator APIs (``astream``, ``astream_events``) cannot own a task group across
a ``yield`` (PEP 789), so their run lives in a task of its own. anyio has no detached
tasks, hence this module:

- asyncio: ``loop.create_task(..., context=...)``, with a strong reference kept until the
  task ends (the event loop only keeps weak ones).
- trio: ``trio.lowlevel.spawn_system_task(..., context=...)``. An exception escaping a
  system task crashes the whole program, so ``fn`` must not raise: callers catch and
  forward every exception themselves.

Both are given the caller's contextvars context explicitly.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from ._backend import running_backend

__all__ = ("spawn_detached",)

_asyncio_tasks: set[Any] = set()


def spawn_detached(fn: Callable[[], Awaitable[None]], context: contextvars.Context) -> None:
    """Run ``fn()`` in a new task owned by nobody. ``fn`` must never raise."""
    backend = running_backend()
    if backend is None:
        raise RuntimeError("scopegraph needs a running asyncio or trio event loop here")
    if backend == "trio":
        import trio

        async def trio_entry() -> None:
            await fn()

        trio.lowlevel.spawn_system_task(trio_entry, context=context)
        return

    import asyncio

    async def asyncio_entry() -> None:
        await fn()

    task = asyncio.get_running_loop().create_task(asyncio_entry(), context=context)
    _asyncio_tasks.add(task)
    task.add_done_callback(_asyncio_tasks.discard)
