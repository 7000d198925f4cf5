"""What the HTTP edge asks of a backend, and what a backend gives back.

:class:`Backend` is the one interface behind the routes: threads and runs, in one process
(:class:`scopegraph.server.local.LocalBackend`: the in-process run manager and the
document store) or across processes (:class:`scopegraph.server.cluster.ClusterBackend`:
the PostgreSQL run queue, Redis event streams, and workers). ``create_app`` chooses one,
once. A backend returns domain objects (records as the LangGraph API shows them, final
values, :class:`EventStream`) and raises the errors of :mod:`scopegraph.server._errors`;
it never builds an HTTP response or names a status code.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

import anyio.abc

from ._assistants import Assistants
from ._crons import Crons, schedule_forever
from ._errors import ConflictError, NotFoundError
from ._graphs import Graphs, check_id
from ._metrics import Metrics, RunStats
from ._models import RunCreate, Superstep, ThreadTTL
from ._settings import ServerSettings
from ._thread_search import ThreadQuery
from ._tracing import Tracing
from ._ttl import ThreadTTLs, sweep_forever

__all__ = (
    "RUN_KWARGS",
    "TERMINAL",
    "Backend",
    "CancelAction",
    "EventStream",
    "RunRecord",
    "ThreadRecord",
    "expire_thread",
    "prune_threads",
    "run_location",
    "start_housekeeping",
)

ThreadRecord = dict[str, Any]
"""A thread as the LangGraph API shows it (``thread_id``, ``metadata``, ``status``...)."""
RunRecord = dict[str, Any]
"""A run as the LangGraph API shows it (``run_id``, ``thread_id``, ``status``, ``kwargs``...)."""
CancelAction = Literal["interrupt", "rollback"]
TERMINAL = frozenset({"success", "error", "timeout", "interrupted"})
"""The statuses of a run that has ended."""
RUN_KWARGS = (
    "input",
    "command",
    "stream_mode",
    "stream_subgraphs",
    "stream_resumable",
    "config",
    "interrupt_before",
    "interrupt_after",
    "on_disconnect",
    "durability",
    "checkpoint_id",
    "on_completion",
    "timeout",
    "webhook",
)
"""The request fields a run record shows under ``kwargs``."""


def run_location(thread_id: str, run_id: str) -> str:
    """The path of a run, under its thread, as LangGraph's server sends it; a stateless
    run's too (under its temporary thread, where it answers while it is known)."""
    return f"/threads/{thread_id}/runs/{run_id}"


@dataclasses.dataclass(frozen=True)
class EventStream:
    """A run's events as ready-made SSE frames, from a cursor to the run's last event.

    ``frames`` is an async generator that owns what following the run needs (a cursor, a
    Redis read) and, when closed early, does what the client asked for on disconnect
    (cancel the run and wait for its cleanup). The HTTP edge sends it and closes it.
    """

    frames: AsyncIterator[bytes]
    location: str
    """The run's path (``Content-Location``; the stream is at ``<location>/stream``)."""


class Backend(Protocol):
    """Threads and runs, wherever they live; see the module docstring."""

    graphs: Graphs
    assistants: Assistants
    crons: Crons
    ttls: ThreadTTLs

    # -- life ----------------------------------------------------------------------------

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        """Open the stores, host the runs; on exit, drain and close."""
        ...

    async def drain(self, grace: float) -> None:
        """Take no new runs; let running ones end within ``grace`` seconds, then cancel
        them; return when every run of this process has ended and its cleanup finished."""
        ...

    def hurry(self) -> None:
        """End the grace period of :meth:`drain` now."""
        ...

    def info(self) -> dict[str, Any]: ...

    async def check(self) -> None:
        """Raise (a store or connection error: 503) unless the storage takes writes now."""
        ...

    async def stats(self) -> RunStats:
        """The levels ``/metrics`` shows (active and queued runs, stream followers)."""
        ...

    def observe(self, metrics: Metrics | None, tracing: Tracing | None) -> None:
        """Record runs, cleanups and store latencies into ``metrics``, and trace runs
        with ``tracing`` (None: not)."""
        ...

    # -- assistants ----------------------------------------------------------------------

    async def assistant_deleted(self, assistant_id: str, *, delete_threads: bool) -> None:
        """After an assistant was deleted: delete its crons, cancel its runs that have not
        ended and, with ``delete_threads``, delete the threads whose
        ``metadata.assistant_id`` names it."""
        ...

    async def fire_cron(self, cron: dict[str, Any], tick: str) -> None:
        """Make the run of a cron that is due (``tick``: its ``next_run_date``)."""
        ...

    # -- threads -------------------------------------------------------------------------

    async def thread(self, thread_id: str) -> ThreadRecord:
        """The thread's stored record (``NotFoundError`` if there is none)."""
        ...

    def thread_busy(self, thread: ThreadRecord) -> bool: ...
    async def create_thread(
        self,
        thread_id: str | None,
        metadata: dict[str, Any] | None,
        if_exists: str | None,
        *,
        ttl: ThreadTTL | None = None,
        supersteps: list[Superstep] | None = None,
    ) -> ThreadRecord:
        """A new thread (``if_exists='do_nothing'``: the existing one); ``ttl`` sets when
        it is swept, ``supersteps`` are state updates applied to it."""
        ...

    async def search_threads(
        self, query: ThreadQuery, limit: int, offset: int
    ) -> tuple[list[ThreadRecord], int | None]:
        """A page of threads and the next page's offset (None: the last page)."""
        ...

    async def get_thread(self, thread_id: str) -> ThreadRecord: ...
    async def patch_thread(
        self, thread_id: str, metadata: dict[str, Any], *, ttl: ThreadTTL | None = None
    ) -> ThreadRecord: ...
    async def count_threads(self, query: ThreadQuery) -> int: ...
    async def copy_thread(self, thread_id: str) -> ThreadRecord:
        """A new thread with the thread's metadata and a copy of its checkpoints."""
        ...

    async def prune_threads(self, thread_ids: list[str], strategy: str) -> int:
        """Delete the threads (``delete``) or their checkpoints but the latest
        (``keep_latest``); how many were pruned (missing and busy ones are skipped)."""
        ...

    async def delete_thread(self, thread_id: str) -> None: ...

    # -- runs ----------------------------------------------------------------------------

    async def create_run(self, thread_id: str | None, body: RunCreate) -> RunRecord: ...
    async def stream_run(self, thread_id: str | None, body: RunCreate) -> EventStream: ...
    async def wait_run(self, thread_id: str | None, body: RunCreate) -> tuple[Any, str]:
        """(the run's final values, its location)."""
        ...

    async def list_runs(
        self, thread_id: str, limit: int, offset: int, status: str | None
    ) -> list[RunRecord]: ...
    async def get_run(self, thread_id: str, run_id: str) -> RunRecord: ...
    async def delete_run(self, thread_id: str, run_id: str) -> None: ...
    async def join_run(self, thread_id: str, run_id: str) -> Any: ...
    async def join_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        cancel_on_disconnect: bool,
        modes: frozenset[str] | None,
        last_event_id: str | None,
    ) -> EventStream: ...
    async def cancel_runs(
        self,
        *,
        thread_id: str | None,
        run_ids: list[str] | None,
        status: str | None,
        action: CancelAction,
    ) -> int:
        """Cancel the thread's runs among ``run_ids``, or every run with ``status``
        (``pending``, ``running``, ``all``) that has not ended; how many
        (``NotFoundError`` if none)."""
        ...

    async def cancel_run(
        self, thread_id: str, run_id: str, *, wait: bool, action: CancelAction
    ) -> Any:
        """Cancel the run (``NotFoundError`` if it has ended: no run to cancel, as
        LangGraph's server answers); with ``wait``, return its final values (as ``join``)
        once it has ended, its cleanup finished and its checkpoint is saved."""
        ...


async def expire_thread(backend: Backend, thread_id: str, strategy: str) -> None:
    """Delete the thread, or keep only its latest checkpoint (``keep_latest``; a busy
    thread is left alone: ConflictError). What ``prune`` and a thread's ``ttl`` do."""
    if strategy == "delete":
        await backend.delete_thread(thread_id)
        return
    thread = await backend.thread(thread_id)
    if backend.thread_busy(thread):
        raise ConflictError(f"thread {thread_id} is busy with a run")
    await backend.graphs.keep_latest(thread)


def start_housekeeping(tg: anyio.abc.TaskGroup, backend: Backend, settings: ServerSettings) -> None:
    """Start either backend's two services in ``tg``: the sweeper of expired threads
    (:func:`expire_thread`) and the cron scheduler."""
    tg.start_soon(
        functools.partial(sweep_forever, limit=settings.ttl_sweep_limit),
        backend.ttls,
        functools.partial(expire_thread, backend),
        settings.ttl_sweep_seconds,
    )
    tg.start_soon(
        schedule_forever, backend.crons, backend.fire_cron, settings.cron_interval_seconds
    )


async def prune_threads(backend: Backend, thread_ids: list[str], strategy: str) -> int:
    """:meth:`Backend.prune_threads` for either backend: :func:`expire_thread` each
    thread; how many were pruned (missing and busy ones are skipped, as LangGraph does)."""
    pruned = 0
    for thread_id in thread_ids:
        try:
            await expire_thread(backend, check_id(thread_id, "thread_id"), strategy)
        except (NotFoundError, ConflictError):
            continue
        pruned += 1
    return pruned
