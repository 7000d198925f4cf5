"""Deleting expired items periodically: in a thread (LangGraph's ``start_ttl_sweeper``)
or as a task of the caller's task group (``open_ttl_sweeper``, anyio).

Several processes may sweep one PostgreSQL store (a scale-out server: every API process
runs the sweeper of the store it opened). A round of the sweeper takes the store's sweep
lock without waiting (``pg_try_advisory_xact_lock``, held until the round's transaction
ends) and skips the round if another process holds it, as the threads' TTL sweep does
(``server/_ttl.py``): one process sweeps at a time. ``sweep_ttl()`` called directly waits
for the lock instead, so that what had expired is gone when it returns."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ._types import TTLConfig

__all__ = ("TTLSweeping",)

_DEFAULT_INTERVAL_MINUTES = 5.0


class TTLSweeping:
    """The sweeper of a store with TTLs: the store defines ``sweep_ttl``/``asweep_ttl``."""

    ttl_config: TTLConfig | None
    _sweeper: tuple[threading.Thread, threading.Event] | None = None

    def sweep_ttl(self) -> int:  # pragma: no cover - every store defines it
        raise NotImplementedError

    def _sweep_sync(self) -> int:
        """One round of the sweeper thread (``sweep_ttl`` is a coroutine in the
        ``Async*Store`` names). A store that several processes share skips the round
        while another process sweeps (``PostgresStore``: an advisory lock)."""
        return self.sweep_ttl()

    async def asweep_ttl(self) -> int:  # pragma: no cover - every store defines it
        raise NotImplementedError

    async def _asweep_round(self) -> int:
        """One round of :meth:`open_ttl_sweeper`'s task: the async twin of
        :meth:`_sweep_sync`."""
        return await self.asweep_ttl()

    def _interval(self, minutes: float | None) -> float:
        if minutes is None:
            minutes = (self.ttl_config or {}).get("sweep_interval_minutes")
        if minutes is None:
            minutes = _DEFAULT_INTERVAL_MINUTES
        if minutes <= 0:
            raise ValueError(f"sweep_interval_minutes must be positive, got {minutes}")
        return float(minutes) * 60

    def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Delete expired items every ``sweep_interval_minutes`` (default: the TTL
        config's, else 5) in a daemon thread, until :meth:`stop_ttl_sweeper`. The future
        is done when the thread stops."""
        seconds = self._interval(sweep_interval_minutes)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        if self._sweeper is not None and self._sweeper[0].is_alive():
            done.set_result(None)
            return done
        stop = threading.Event()

        def loop() -> None:
            try:
                while not stop.wait(seconds):
                    self._sweep_sync()
            except BaseException as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

        thread = threading.Thread(target=loop, name=f"{type(self).__name__}-ttl", daemon=True)
        self._sweeper = (thread, stop)
        thread.start()
        return done

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the thread of :meth:`start_ttl_sweeper`; True once it has stopped."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is None:
            return True
        thread, stop = sweeper
        stop.set()
        thread.join(timeout)
        return not thread.is_alive()

    @asynccontextmanager
    async def open_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> AsyncIterator[Any]:
        """A task that deletes expired items periodically while the block runs (asyncio
        or trio); leaving the block cancels it::

            async with store.open_ttl_sweeper(sweep_interval_minutes=1):
                ...
        """
        seconds = self._interval(sweep_interval_minutes)

        async def loop() -> None:
            while True:
                await anyio.sleep(seconds)
                await self._asweep_round()

        async with anyio.create_task_group() as tg:
            tg.start_soon(loop)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()
