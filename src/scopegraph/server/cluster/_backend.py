"""The scale-out :class:`~scopegraph.server._domain.Backend`: threads are rows of the run
queue's thread table and runs are queue rows (read on every request, so any API process
serves any thread and run); streams follow the runs' Redis streams (:class:`Cluster`).

The queue's and the event log's errors are translated here, at the boundary, into the
server's domain errors: a service that cannot be reached is :class:`UnavailableError`, a
refused queue operation is :class:`ConflictError`."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar

import anyio

from .._assistants import Assistants, merge_into_run
from .._crons import Crons, cron_run_id, run_request
from .._domain import (
    TERMINAL,
    CancelAction,
    EventStream,
    RunRecord,
    ThreadRecord,
    prune_threads,
    run_location,
    start_housekeeping,
)
from .._errors import ConflictError, NotFoundError, UnavailableError
from .._graphs import Graphs, check_id, is_bridged
from .._metrics import Metrics, RunStats
from .._models import RunCreate, Superstep, ThreadTTL
from .._pg_queue import THREAD_SORTS, QueueConnectionError, QueueError, RunQueue
from .._pg_queue import MetadataFilter as QueueFilter
from .._settings import ServerSettings
from .._store import AnyOf, Documents, MetadataFilter, open_backend
from .._thread_search import Pushdown, ThreadQuery, count_threads, search_threads
from .._tracing import Tracing
from .._ttl import ThreadTTLs
from .._webhook import check_url
from ._redis_events import EventLogError, RedisEventLog
from ._runs import Cluster, run_json

__all__ = ("ClusterBackend", "open_cluster")

log = logging.getLogger("scopegraph.server")

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _translated(fn: Callable[_P, Awaitable[_T]]) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """The queue's and the event log's errors as the server's domain errors."""

    @functools.wraps(fn)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await fn(*args, **kwargs)
        except (QueueConnectionError, EventLogError) as exc:
            raise UnavailableError(f"{exc}; try again shortly") from exc
        except QueueError as exc:
            raise ConflictError(str(exc)) from exc

    return call


def open_cluster(
    graphs: Graphs,
    database: str | None,
    redis: str,
    settings: ServerSettings,
    *,
    worker: bool,
    lease_seconds: float,
) -> ClusterBackend:
    """The scale-out backend; a ValueError names what the configuration lacks."""
    from ...checkpoint import PostgresSaver

    if database is None or not database.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            "scale-out mode (redis=...) keeps runs and threads in PostgreSQL: pass "
            "database='postgresql://...' (scopegraph serve --db postgresql://...)"
        )
    if not isinstance(graphs.checkpointer, PostgresSaver):
        raise ValueError(
            "scale-out mode (redis=...) needs the checkpoints in PostgreSQL, where every "
            "process reads them: pass checkpointer=PostgresSaver(database)"
        )
    bridged = [name for name, graph in graphs.graphs.items() if is_bridged(graph)]
    if bridged:
        raise ValueError(
            f"graphs {bridged} are bridged LangGraph graphs (adopt() refused them; the "
            "start-up log says why): scale-out mode runs graphs on scopegraph's engine only "
            "(their checkpoints must be in the shared PostgreSQL); port them by changing "
            "the imports to scopegraph, or serve them without --redis"
        )
    cluster = Cluster(RunQueue(database, lease_seconds=lease_seconds), RedisEventLog(redis))
    docs = Documents(open_backend(database))  # the assistants, shared by every process
    return ClusterBackend(graphs, cluster, settings, worker=worker, docs=docs)


class ClusterBackend:
    """Threads and runs of the scale-out server; see the module docstring."""

    def __init__(
        self,
        graphs: Graphs,
        cluster: Cluster,
        settings: ServerSettings,
        *,
        worker: bool,
        docs: Documents,
    ) -> None:
        self.graphs = graphs
        self.docs = docs
        self.assistants = Assistants(graphs, docs, shared=True)
        self.ttls = ThreadTTLs(docs, settings.thread_ttl)
        self.crons = Crons(self.assistants, docs)
        self.cluster = cluster
        self.queue = cluster.queue
        self.settings = settings
        self.runs_worker = worker
        """Whether this process also runs queued runs."""
        self.metrics: Metrics | None = None
        self.tracing: Tracing | None = None
        # The queue knows busy and error (the runs); idle or interrupted, the checkpoint.
        self._pushdown = Pushdown(
            fetch=self._fetch_threads,
            show=self._json,
            count=self._count_threads,
            sorts=THREAD_SORTS,
            statuses=frozenset({None, "busy", "error"}),
        )

    # -- life ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        from ._worker import Worker, reap_forever

        cluster = self.cluster
        async with (
            contextlib.AsyncExitStack() as stack,
            cluster.queue,
            cluster.events,
            anyio.create_task_group() as tg,
        ):
            stack.push_async_callback(anyio.to_thread.run_sync, self.docs.close)
            await self.assistants.setup()
            await tg.start(cluster.hub.run)
            start_housekeeping(tg, self, self.settings)
            if self.runs_worker:
                cluster.worker = Worker(
                    self.graphs.graphs,
                    cluster.queue,
                    cluster.events,
                    run_timeout=self.settings.run_timeout_seconds,
                )
                cluster.worker.metrics = self.metrics
                cluster.worker.tracing = self.tracing
                await tg.start(cluster.worker.run)
                tg.start_soon(reap_forever, cluster.queue)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await cluster.drain(self.settings.shutdown_grace_seconds)
                tg.cancel_scope.cancel()

    async def drain(self, grace: float) -> None:
        await self.cluster.drain(grace)

    def hurry(self) -> None:
        self.cluster.hurry()

    def info(self) -> dict[str, Any]:
        worker = self.cluster.worker
        return {
            "version": "0.1.0",
            "flags": {"assistants": True, "crons": True},
            "graphs": list(self.graphs.graphs),
            "mode": "cluster",
            "worker_id": None if worker is None else worker.worker_id,
            "cleanups_finished": 0 if worker is None else worker.cleanups_finished,
            "runs_running": 0 if worker is None else len(worker.running),
            "accepting_runs": not self.cluster.draining,
        }

    @_translated
    async def check(self) -> None:
        await self.queue.get(str(uuid.UUID(int=0)))  # a round trip to the queue's database

    def observe(self, metrics: Metrics | None, tracing: Tracing | None) -> None:
        self.metrics = metrics
        self.tracing = tracing
        if metrics is not None:
            self.queue.observe_latency(metrics.store_took)

    async def stats(self) -> RunStats:
        queued: float
        oldest: float
        try:  # the queue is every process's: read where it is
            queued, oldest = await self.queue.pending_stats()
        except QueueError as exc:  # unknown now: NaN, and the other metrics still answer
            log.warning("metrics: the queue could not be read: %s", exc)
            queued, oldest = math.nan, math.nan
        worker = self.cluster.worker
        return RunStats(
            active=0 if worker is None else len(worker.running),
            queued=queued,
            oldest_queued_seconds=oldest,
            followers=len(self.cluster.following),
            event_lag=await self.cluster.event_lag(),
        )

    # -- assistants ----------------------------------------------------------------------

    @_translated
    async def assistant_deleted(self, assistant_id: str, *, delete_threads: bool) -> None:
        await self.crons.delete_for_assistant(assistant_id)
        reason = f"assistant {assistant_id} was deleted"
        for run_id in await self.queue.active_runs(assistant_id=assistant_id):
            await self.cluster.cancel(run_id, "interrupt", reason)
        if delete_threads:
            owned = {"assistant_id": assistant_id}
            while rows := await self.queue.search_threads(owned, limit=100):
                for row in rows:
                    await self.cluster.delete_thread(row["thread_id"], self.graphs.checkpointer)

    @_translated
    async def fire_cron(self, cron: dict[str, Any], tick: str) -> None:
        # The tick's run id: a second process firing the same tick finds the same run.
        run_id = cron_run_id(cron["cron_id"], tick)
        await self._create(cron["thread_id"], run_request(cron), run_id=run_id)

    # -- threads -------------------------------------------------------------------------

    async def _json(self, row: Mapping[str, Any]) -> ThreadRecord:
        return await self.cluster.thread_json(row, self.graphs.of_thread(row))

    @_translated
    async def thread(self, thread_id: str) -> ThreadRecord:
        thread_id = check_id(thread_id, "thread_id")
        thread = await self.queue.get_thread(thread_id)
        if thread is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return thread

    def thread_busy(self, thread: ThreadRecord) -> bool:
        return bool(thread["busy"])

    @_translated
    async def create_thread(
        self,
        thread_id: str | None,
        metadata: dict[str, Any] | None,
        if_exists: str | None,
        *,
        ttl: ThreadTTL | None = None,
        supersteps: list[Superstep] | None = None,
    ) -> ThreadRecord:
        thread_id = check_id(thread_id, "thread_id") if thread_id else str(uuid.uuid4())
        row, created = await self.queue.create_thread(thread_id, metadata)
        if not created and if_exists != "do_nothing":
            raise ConflictError(f"thread {thread_id} already exists")
        await self.ttls.apply(thread_id, ttl, created=created)
        if supersteps:
            await self.graphs.apply_supersteps(row, supersteps)
        return await self._json(row)

    @_translated
    async def count_threads(self, query: ThreadQuery) -> int:
        return await count_threads(query, self._pushdown)

    async def _fetch_threads(
        self, query: ThreadQuery, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        return await self.queue.search_threads(
            _queue_filter(query.metadata),
            status=query.status,
            ids=query.ids,
            sort_by=query.sort_by,
            descending=query.descending,
            limit=limit,
            offset=offset,
        )

    async def _count_threads(self, query: ThreadQuery) -> int:
        metadata = _queue_filter(query.metadata)
        return await self.queue.count_threads(metadata, status=query.status, ids=query.ids)

    @_translated
    async def copy_thread(self, thread_id: str) -> ThreadRecord:
        source = await self.thread(thread_id)
        row, _ = await self.queue.create_thread(str(uuid.uuid4()), source["metadata"])
        await self.ttls.apply(row["thread_id"], None, created=True)
        await self.graphs.copy_state(source, row["thread_id"])
        return await self._json(row)

    @_translated
    async def prune_threads(self, thread_ids: list[str], strategy: str) -> int:
        return await prune_threads(self, thread_ids, strategy)

    @_translated
    async def search_threads(
        self, query: ThreadQuery, limit: int, offset: int
    ) -> tuple[list[ThreadRecord], int | None]:
        return await search_threads(query, limit, offset, self._pushdown)

    @_translated
    async def get_thread(self, thread_id: str) -> ThreadRecord:
        return await self._json(await self.thread(thread_id))

    @_translated
    async def patch_thread(
        self, thread_id: str, metadata: dict[str, Any], *, ttl: ThreadTTL | None = None
    ) -> ThreadRecord:
        thread = await self.thread(thread_id)
        patched = await self.queue.patch_thread(thread["thread_id"], metadata)
        if patched is None:
            raise NotFoundError(f"thread {thread_id} not found")
        await self.ttls.apply(thread["thread_id"], ttl, created=False)
        return await self._json(patched)

    @_translated
    async def delete_thread(self, thread_id: str) -> None:
        thread = await self.thread(thread_id)
        await self.cluster.delete_thread(thread["thread_id"], self.graphs.checkpointer)
        await self.ttls.clear(thread["thread_id"])
        await self.crons.delete_for_thread(thread["thread_id"])

    # -- runs ----------------------------------------------------------------------------

    async def _ensure_thread(
        self,
        thread_id: str,
        graph_id: str,
        assistant_id: str,
        create: bool,
        new_metadata: dict[str, Any],
    ) -> dict[str, Any]:
        """The thread's metadata; it must exist (or is created, with
        ``if_not_exists='create'`` and ``new_metadata``); it records the graph and the
        assistant of its runs in its metadata, as LangGraph's server does."""
        row = await self.queue.get_thread(thread_id)
        if row is None:
            if not create:
                raise NotFoundError(
                    f"thread {thread_id} not found; create it first, or pass if_not_exists='create'"
                )
            row, _ = await self.queue.create_thread(
                thread_id, {**new_metadata, "graph_id": graph_id}
            )
        metadata: dict[str, Any] = row["metadata"]
        recorded = {"graph_id": graph_id, "assistant_id": assistant_id}
        if any(metadata.get(key) != value for key, value in recorded.items()):
            await self.queue.patch_thread(thread_id, recorded)
        return metadata

    async def _create(
        self, thread_id: str | None, body: RunCreate, *, run_id: str | None = None
    ) -> dict[str, Any]:
        """Queue a run; its queue row."""
        if body.webhook:
            check_url(body.webhook, allow_loopback=self.settings.webhook_loopback)
        assistant = await self.assistants.get(body.assistant_id)
        assistant_id, graph_id = assistant["assistant_id"], assistant["graph_id"]
        thread_metadata = None
        if thread_id is not None:
            thread_id = check_id(thread_id, "thread_id")
            thread_metadata = await self._ensure_thread(
                thread_id,
                graph_id,
                assistant_id,
                body.if_not_exists == "create",
                self.graphs.new_thread_metadata(assistant, body),
            )
            await self.ttls.touch(thread_id)
        self.graphs.check_run(graph_id, body, temporary=thread_id is None)
        payload = merge_into_run(assistant, body.payload())
        payload["metadata"] = self.graphs.run_metadata(assistant, thread_metadata, body)
        if self.tracing is None:
            return await self.cluster.create(
                graph_id=graph_id,
                assistant_id=assistant_id,
                thread_id=thread_id,
                payload=payload,
                temporary=thread_id is None,
                run_id=run_id,
            )
        with self.tracing.enqueued(graph_id) as queued:  # the worker continues this trace
            row = await self.cluster.create(
                graph_id=graph_id,
                assistant_id=assistant_id,
                thread_id=thread_id,
                payload=payload,
                temporary=thread_id is None,
                trace_context=queued.carrier,
                run_id=run_id,
            )
            queued.describe(row)
            return row

    async def _row(self, thread_id: str, run_id: str) -> dict[str, Any]:
        """The run's queue row (a stateless run's under its temporary thread, which is
        not stored)."""
        run_id = check_id(run_id, "run_id")
        run = await self.cluster.get(run_id)
        if run is None or not run["run"].get("temporary"):
            await self.thread(thread_id)
        if run is None or run["thread_id"] != check_id(thread_id, "thread_id"):
            raise NotFoundError(f"run {run_id} not found in thread {thread_id}")
        return run

    def _graph(self, row: Mapping[str, Any]) -> Any:
        return self.graphs.graphs[row["run"]["graph_id"]]

    @staticmethod
    def _location(row: Mapping[str, Any]) -> str:
        return run_location(row["thread_id"], row["run_id"])

    async def _cancel_and_wait(self, run_id: str, reason: str) -> None:
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self.settings.send_timeout_seconds),
        ):
            if await self.cluster.cancel(run_id, "interrupt", reason) is not None:
                await self.cluster.wait_done(run_id)

    def _events(
        self,
        row: Mapping[str, Any],
        cursor: str | None,
        modes: frozenset[str] | None,
        cancel_on_disconnect: bool,
    ) -> EventStream:
        run_id = row["run_id"]
        follow = self.cluster.frames(run_id, self._graph(row), cursor, modes)
        cluster = self.cluster

        async def frames() -> AsyncIterator[bytes]:
            complete = False
            try:
                async with contextlib.aclosing(follow):
                    async for chunk in follow:
                        yield chunk
                complete = True
            finally:
                if cancel_on_disconnect and not complete and not cluster.draining:
                    await self._cancel_and_wait(run_id, "client disconnected")

        return EventStream(frames(), self._location(row))

    @_translated
    async def create_run(self, thread_id: str | None, body: RunCreate) -> RunRecord:
        return run_json(await self._create(thread_id, body))

    @_translated
    async def stream_run(self, thread_id: str | None, body: RunCreate) -> EventStream:
        row = await self._create(thread_id, body)
        return self._events(row, None, None, body.on_disconnect == "cancel")

    @_translated
    async def wait_run(self, thread_id: str | None, body: RunCreate) -> tuple[Any, str]:
        row = await self._create(thread_id, body)
        run_id = row["run_id"]
        done = None
        try:
            done = await self.cluster.wait_done(run_id)
        finally:
            if done is None and body.on_disconnect == "cancel":
                await self._cancel_and_wait(run_id, "client disconnected")
        values = await self.cluster.final_values(done, self._graph(row))
        return values, self._location(row)

    @_translated
    async def list_runs(
        self, thread_id: str, limit: int, offset: int, status: str | None
    ) -> list[RunRecord]:
        tid = (await self.thread(thread_id))["thread_id"]
        rows = await self.queue.list_runs(tid, status=status, limit=limit, offset=offset)
        return [run_json(r) for r in rows]

    @_translated
    async def get_run(self, thread_id: str, run_id: str) -> RunRecord:
        return run_json(await self._row(thread_id, run_id))

    @_translated
    async def delete_run(self, thread_id: str, run_id: str) -> None:
        row = await self._row(thread_id, run_id)
        if row["status"] not in TERMINAL or not await self.queue.delete_run(row["run_id"]):
            raise ConflictError(f"run {run_id} is {row['status']}; cancel it first")

    @_translated
    async def join_run(self, thread_id: str, run_id: str) -> Any:
        row = await self._row(thread_id, run_id)
        done = await self.cluster.wait_done(row["run_id"])
        return await self.cluster.final_values(done, self._graph(row))

    @_translated
    async def join_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        cancel_on_disconnect: bool,
        modes: frozenset[str] | None,
        last_event_id: str | None,
    ) -> EventStream:
        row = await self._row(thread_id, run_id)
        if row["status"] in TERMINAL and not last_event_id:
            if not row["run"].get("stream_resumable"):
                return EventStream(_ended(), self._location(row))
            last_event_id = "-1"  # a finished resumable run: its events again, as LangGraph
        cursor = await self.cluster.start_cursor(row["run_id"], last_event_id, new=False)
        return self._events(row, cursor, modes, cancel_on_disconnect)

    @_translated
    async def cancel_runs(
        self,
        *,
        thread_id: str | None,
        run_ids: list[str] | None,
        status: str | None,
        action: CancelAction,
    ) -> int:
        found = await self.queue.active_runs(
            status=None if status == "all" else status,
            thread_id=None if thread_id is None else check_id(thread_id, "thread_id"),
            run_ids=None if run_ids is None else [check_id(r, "run_id") for r in run_ids],
        )
        reason = f"{action} requested via POST /runs/cancel"
        cancelled = [r for r in found if await self.cluster.cancel(r, action, reason) is not None]
        if not cancelled:
            raise NotFoundError(
                "No matching runs to cancel: check the thread and run ids; the runs may "
                "have ended or been deleted"
            )
        return len(cancelled)

    @_translated
    async def cancel_run(
        self, thread_id: str, run_id: str, *, wait: bool, action: CancelAction
    ) -> Any:
        row = await self._row(thread_id, run_id)
        status = await self.cluster.cancel(row["run_id"], action, "cancel endpoint")
        if status is None:
            ended = await self.cluster.get(row["run_id"])
            raise NotFoundError(
                f"run {run_id} has already ended with status {(ended or row)['status']}: "
                "there is no pending or running run to cancel"
            )
        if not wait:
            return None
        with anyio.CancelScope(shield=True):
            done = await self.cluster.wait_done(row["run_id"])
        return await self.cluster.final_values(done, self._graph(row))


async def _ended() -> AsyncIterator[bytes]:
    """The stream of a run that has ended (its events are not replayed): it closes."""
    return
    yield  # pragma: no cover - an async generator with nothing to send


def _queue_filter(metadata: MetadataFilter | None) -> QueueFilter | None:
    """A search's metadata filter as the run queue takes it (an :class:`AnyOf`: the list of
    its alternatives)."""
    return list(metadata.alternatives) if isinstance(metadata, AnyOf) else metadata
