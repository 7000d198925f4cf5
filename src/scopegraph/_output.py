"""The buffer between a running graph and whoever consumes its stream.

One producer side (the run: nodes, writers, the superstep loop) and one consumer. Items
are appended without awaiting, so ``writer(chunk)`` stays a cheap synchronous call, and
the consumer takes everything that is ready in one batch, so a fast producer costs one
task switch per batch, not per item. Async producers that can wait
(``adispatch_custom_event``) call :meth:`RunOutput.wait_for_space` so that a slow consumer
slows the run down instead of letting the buffer grow without bound.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio
import anyio.lowlevel

__all__ = ("RunOutput",)

HIGH_WATER = 1024
"""Buffered items above which awaiting producers wait for the consumer."""

CHECK_EVERY = 16
"""An awaiting producer that need not wait checks for cancellation once per this many items.

A full checkpoint per event would cost more than the event itself; checking for
cancellation every few events keeps a node that only emits events cancellable within
microseconds.
"""


class RunOutput:
    __slots__ = (
        "_closed",
        "_consumer_gone",
        "_countdown",
        "_error",
        "_items",
        "_space_waiter",
        "_waiter",
    )

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: anyio.Event | None = None
        self._space_waiter: anyio.Event | None = None
        self._closed = False
        self._consumer_gone = False
        self._countdown = CHECK_EVERY
        self._error: BaseException | None = None

    # -- producer side -------------------------------------------------------------------

    def put(self, item: Any) -> None:
        """Append one item (event-loop thread only)."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def has_credit(self) -> bool:
        """Whether an awaiting producer may go on without a checkpoint (the cheap path of
        :meth:`wait_for_space`): the consumer is not far behind, and the last check for
        cancellation was less than CHECK_EVERY items ago."""
        if self._countdown > 1 and (len(self._items) < HIGH_WATER or self._consumer_gone):
            self._countdown -= 1
            return True
        return False

    async def wait_for_space(self) -> None:
        """Wait while the consumer is more than HIGH_WATER items behind.

        Checks for cancellation every CHECK_EVERY calls and whenever it waits, so a node
        that only emits events can still be cancelled.
        """
        if len(self._items) < HIGH_WATER or self._consumer_gone:
            self._countdown -= 1
            if self._countdown:
                return
            self._countdown = CHECK_EVERY
            await anyio.lowlevel.checkpoint_if_cancelled()
            return
        while len(self._items) >= HIGH_WATER and not self._consumer_gone:
            event = self._space_waiter = anyio.Event()
            await event.wait()

    def close(self, error: BaseException | None = None) -> None:
        """No more items: the run finished (``error`` is None) or failed with ``error``."""
        if self._closed:
            return
        self._closed = True
        self._error = error
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    # -- consumer side -------------------------------------------------------------------

    async def get_batch(self) -> deque[Any]:
        """Everything buffered; waits for at least one item.

        Raises StopAsyncIteration when the run finished, or the run's exception.
        """
        while not self._items:
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            event = self._waiter = anyio.Event()
            await event.wait()
        items = self._items
        self._items = deque()
        space = self._space_waiter
        if space is not None:
            self._space_waiter = None
            space.set()
        return items

    def consumer_gone(self) -> None:
        """The consumer stopped reading: never make a producer wait for it again."""
        self._consumer_gone = True
        self._items.clear()
        space = self._space_waiter
        if space is not None:
            self._space_waiter = None
            space.set()
