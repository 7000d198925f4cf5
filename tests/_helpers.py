"""Shared test helpers: a task-leak checker that works on asyncio and trio."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ("current_backend", "describe_tasks", "live_tasks", "no_task_left")


def current_backend() -> str:
    """``"trio"`` or ``"asyncio"``: the event loop running in this thread."""
    trio = sys.modules.get("trio")
    if trio is not None and trio.lowlevel.in_trio_run():
        return "trio"
    asyncio.get_running_loop()  # raises RuntimeError outside of any event loop
    return "asyncio"


def _trio_tasks() -> set[object]:
    """Every living trio task: the root task and, recursively, its nurseries' children.

    System tasks (``spawn_system_task``, used for detached runs) live in the system
    nursery, which is a child of the root task, so they are found as well.
    """
    import trio

    root = trio.lowlevel.current_root_task()
    assert root is not None
    found: set[object] = set()
    stack = [root]
    while stack:
        task = stack.pop()
        found.add(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    # The walk must see every task the run loop knows of, or a leak could hide.
    assert len(found) == trio.lowlevel.current_statistics().tasks_living
    return found


def live_tasks() -> set[object]:
    """The tasks alive now in the running event loop (asyncio or trio)."""
    if current_backend() == "trio":
        return _trio_tasks()
    return set(asyncio.all_tasks())


def describe_tasks(tasks: set[object]) -> str:
    names: list[str] = []
    for task in tasks:
        if isinstance(task, asyncio.Task):
            names.append(f"{task.get_name()} ({task.get_coro()!r})")
        else:
            names.append(str(getattr(task, "name", task)))
    return ", ".join(sorted(names))


@contextmanager
def no_task_left() -> Iterator[None]:
    """Assert that no task started inside the block is still alive when it exits.

    The check runs on every way out, including an exception or a cancellation going
    through, at the very moment the block is left, without awaiting anything: the
    code in the block (a run API) must have ended its tasks before it returned or
    raised.
    """
    before = live_tasks()
    try:
        yield
    finally:
        leaked = live_tasks() - before
        assert not leaked, f"tasks left alive: {describe_tasks(leaked)}"
