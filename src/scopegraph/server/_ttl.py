"""Threads' time-to-live: when a thread is swept, and the sweeper.

A thread created or updated with ``ttl`` (LangGraph's ``{"ttl": minutes, "strategy":
"delete" | "keep_latest"}``) gets a row in the store's TTL table: its expiry time and its
strategy. :func:`sweep_forever` looks every ``interval`` seconds for the rows that are
due, and hands each thread to the backend (delete it, or keep only its latest
checkpoint); the row goes once that is done.

A server with a default TTL (``checkpointer.ttl`` of a ``langgraph.json``, as LangGraph's
server reads it) gives it to every thread it creates without a ``ttl`` of its own, and
each run on a thread pushes its expiry to at least ``default_ttl`` minutes from then
(:meth:`ThreadTTLs.touch`; threads older than the setting get it at their next run): a
thread in use is not swept, and a longer ``ttl`` of its own is kept.

Several processes may share the table (scale-out): a sweep *claims* the due rows in one
transaction that holds PostgreSQL's advisory lock (``pg_try_advisory_xact_lock``: a
process that does not get it skips this round, so one process sweeps at a time) and moves
their expiry ``lease`` seconds on, so that a row claimed by a process that dies before it
is done is swept again after the lease, by any process, and never twice at once.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio

from ._store import THREAD_TTL, Documents, SqlOp
from ._wire import now_iso

__all__ = ("ThreadTTLs", "sweep_forever")

log = logging.getLogger("scopegraph.server")

_LOCK_KEY = int.from_bytes(b"sg-ttl", "big")
_BATCH = 100


class TTLSpec(Protocol):
    """A thread's TTL: a request's ``ttl`` or the server's default."""

    @property
    def ttl(self) -> float:
        """Minutes."""
        ...

    @property
    def strategy(self) -> str: ...


def _later(seconds: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return moment.isoformat()


class ThreadTTLs:
    """The TTL rows of the store's threads; ``default``: the server's default TTL."""

    def __init__(self, docs: Documents, default: TTLSpec | None = None) -> None:
        self.docs = docs
        self.default = default
        d = docs.dialect
        self._m = d.m
        self._shared = d.shared

    async def set(self, thread_id: str, minutes: float, strategy: str) -> str:
        """The thread expires ``minutes`` from now (replacing an earlier TTL); when."""
        expires_at = _later(minutes * 60)
        m = self._m

        def op() -> SqlOp[None]:
            yield (
                f"INSERT INTO {THREAD_TTL} (thread_id, strategy, expires_at, ttl_minutes) "
                f"VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (thread_id) DO UPDATE SET "
                "strategy = excluded.strategy, expires_at = excluded.expires_at, "
                "ttl_minutes = excluded.ttl_minutes",
                (thread_id, strategy, expires_at, minutes),
            )

        await self.docs.op(op)
        return expires_at

    async def get(self, thread_id: str) -> dict[str, Any] | None:
        """The thread's TTL as LangGraph's server shows it (``threads.get(include=
        ["ttl"])``): ``{"strategy", "ttl_minutes", "expires_at"}``; None without one."""
        statement = (
            f"SELECT strategy, ttl_minutes, expires_at FROM {THREAD_TTL} "
            f"WHERE thread_id = {self._m}"
        )

        def op() -> SqlOp[dict[str, Any] | None]:
            found = yield statement, (thread_id,)
            if not found.rows:
                return None
            strategy, minutes, expires_at = found.rows[0]
            return {"strategy": strategy, "ttl_minutes": minutes, "expires_at": expires_at}

        return await self.docs.op(op)

    async def apply(self, thread_id: str, ttl: TTLSpec | None, *, created: bool) -> None:
        """A thread created (``created``) or updated with ``ttl``: it expires as ``ttl``
        says, or, if it was just created without one, as the server's default says."""
        chosen = ttl if ttl is not None else self.default if created else None
        if chosen is not None:
            await self.set(thread_id, chosen.ttl, chosen.strategy)

    async def touch(self, thread_id: str) -> None:
        """A run on the thread: it expires no sooner than the server's default TTL from
        now (nothing without a default). A later expiry (a longer ``ttl`` of the
        thread's own) and the thread's strategy are kept."""
        default = self.default
        if default is None:
            return
        expires_at = _later(default.ttl * 60)
        m = self._m

        def op() -> SqlOp[None]:
            yield (
                f"INSERT INTO {THREAD_TTL} (thread_id, strategy, expires_at, ttl_minutes) "
                f"VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (thread_id) DO UPDATE SET "
                f"expires_at = excluded.expires_at "
                f"WHERE {THREAD_TTL}.expires_at < excluded.expires_at",
                (thread_id, default.strategy, expires_at, default.ttl),
            )

        await self.docs.op(op)

    async def clear(self, thread_id: str) -> None:
        """The thread has no TTL (any more)."""

        def op() -> SqlOp[None]:
            yield f"DELETE FROM {THREAD_TTL} WHERE thread_id = {self._m}", (thread_id,)

        await self.docs.op(op)

    async def claim(self, lease: float, limit: int = _BATCH) -> list[tuple[str, str]]:
        """At most ``limit`` due threads, ``(thread_id, strategy)``, claimed for ``lease``
        seconds (none while another process holds the sweep's lock)."""
        m = self._m
        now, until = now_iso(), _later(lease)
        shared = self._shared

        def op() -> SqlOp[list[tuple[str, str]]]:
            if shared:
                got = yield f"SELECT pg_try_advisory_xact_lock({_LOCK_KEY})", ()
                if not got.rows[0][0]:
                    return []
            due = yield (
                f"SELECT thread_id, strategy FROM {THREAD_TTL} WHERE expires_at <= {m} "
                f"ORDER BY expires_at LIMIT {int(limit)}",
                (now,),
            )
            claimed = [(str(tid), str(strategy)) for tid, strategy in due.rows]
            lease = f"UPDATE {THREAD_TTL} SET expires_at = {m} WHERE thread_id = {m}"
            for tid, _ in claimed:
                yield lease, (until, tid)
            return claimed

        return await self.docs.op(op, transaction=True)


async def sweep_forever(
    ttls: ThreadTTLs,
    expire: Callable[[str, str], Awaitable[None]],
    interval: float,
    *,
    lease: float = 300.0,
    limit: int = 10_000,
) -> None:
    """Every ``interval`` seconds, ``expire(thread_id, strategy)`` each due thread (at
    most ``limit`` per round, claimed by batches), then drop its TTL row (a thread whose
    expiry fails stays claimed and is tried again after ``lease``). Runs until
    cancelled; a failing store is logged and tried next round."""
    while True:
        try:
            await _sweep_round(ttls, expire, lease, limit)
        except Exception as exc:
            log.warning("TTL sweep failed (tried again in %s s): %s", interval, exc)
        await anyio.sleep(interval)


async def _sweep_round(
    ttls: ThreadTTLs, expire: Callable[[str, str], Awaitable[None]], lease: float, limit: int
) -> None:
    swept = 0
    while swept < limit:
        batch = min(_BATCH, limit - swept)
        claimed = await ttls.claim(lease, batch)
        for thread_id, strategy in claimed:
            try:
                await expire(thread_id, strategy)
            except Exception as exc:  # this thread only: the others are swept
                log.warning("TTL sweep: thread %s could not be swept: %s", thread_id, exc)
                continue
            await ttls.clear(thread_id)
        swept += len(claimed)
        if len(claimed) < batch:
            return
