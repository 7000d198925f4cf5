"""Which event loop is running: the one place scopegraph looks at the backend.

Core code uses anyio only and never asks. A few integrations must: psycopg's and
redis-py's async clients work on asyncio only (on trio their sync clients run in worker
threads), the async-generator APIs need a detached task (``_detach``), a bridged
LangGraph graph runs on asyncio only, and only asyncio lets node code raise its
cancellation exception itself (:func:`cancellation_requested`). They all ask here.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Literal

__all__ = (
    "borrowed_loop",
    "cancellation_requested",
    "long_lived_asyncio_loop",
    "running_backend",
    "running_on_asyncio",
)

_borrowed = threading.local()


def running_backend() -> Literal["asyncio", "trio"] | None:
    """``"asyncio"`` or ``"trio"`` when called from that event loop's thread, else None."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        if trio is not None and trio.lowlevel.in_trio_run():
            return "trio"
        return None
    return "asyncio"


def running_on_asyncio() -> bool:
    """True when called from a running asyncio event loop's thread."""
    return running_backend() == "asyncio"


@contextlib.contextmanager
def borrowed_loop() -> Iterator[None]:
    """Mark this thread's asyncio event loop, while inside, as one borrowed for a node's
    foreign code on trio (LangChain's async code: ``_pregel._foreign.asyncio_code``)."""
    _borrowed.active = True
    try:
        yield
    finally:
        _borrowed.active = False


def long_lived_asyncio_loop() -> bool:
    """Whether an asyncio client bound to the running loop (psycopg's async pool) may be
    made here: on asyncio, but not on a loop borrowed for one node (it ends with the
    node, and the pool would die with it: the sync client runs in a worker thread there,
    as on trio)."""
    return running_on_asyncio() and not getattr(_borrowed, "active", False)


def cancellation_requested() -> bool:
    """Whether the current task has been asked to cancel (called where the backend's
    cancellation exception is being raised). False means code raised
    ``asyncio.CancelledError`` itself, which only asyncio allows (trio's ``Cancelled``
    cannot be made by user code)."""
    if running_backend() != "asyncio":
        return True
    import asyncio

    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
