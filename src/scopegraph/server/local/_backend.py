"""The single-process :class:`~scopegraph.server._domain.Backend`: threads and runs are
documents (:class:`~scopegraph.server._store.Documents`), runs execute in the
:class:`~scopegraph.server.local._manager.RunManager` of this process."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio

from .._assistants import Assistants, merge_into_run
from .._crons import Crons, run_request
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
from .._errors import ConflictError, InvalidRequestError, NotFoundError
from .._graphs import Graphs, check_id
from .._metrics import Metrics, RunStats
from .._models import RunCreate, Superstep, ThreadTTL
from .._settings import ServerSettings
from .._store import PAGE_ORDERS, Documents
from .._thread_search import Pushdown, ThreadQuery, count_threads, search_threads
from .._tracing import Tracing
from .._ttl import ThreadTTLs
from .._webhook import check_url
from .._wire import now_iso
from ._delayed import Delayed
from ._manager import Live, RunManager

__all__ = ("LocalBackend",)

log = logging.getLogger("scopegraph.server")


def _new_thread(thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    now = now_iso()
    return {
        "thread_id": thread_id,
        "created_at": now,
        "updated_at": now,
        "metadata": metadata,
        "state_updated_at": now,
        "status": "idle",
        "config": {},
        "values": None,
        "interrupts": {},
        "error": None,
    }


class LocalBackend:
    """Threads and runs of a single-process server."""

    def __init__(self, graphs: Graphs, docs: Documents, settings: ServerSettings) -> None:
        self.graphs = graphs
        self.docs = docs
        self.settings = settings
        self.assistants = Assistants(graphs, docs, shared=False)
        self.ttls = ThreadTTLs(docs, settings.thread_ttl)
        self.crons = Crons(self.assistants, docs)
        self.manager = RunManager(
            graphs.graphs,
            docs,
            resumable_ttl=settings.resumable_ttl_seconds,
            run_timeout=settings.run_timeout_seconds,
        )
        # The documents keep every thread's status (the run manager stores it): only
        # values and state_updated_at are the checkpoint's.
        self._pushdown = Pushdown(
            fetch=self._fetch_threads,
            show=graphs.thread_values,
            count=self._count_threads,
            sorts=PAGE_ORDERS,
            statuses=frozenset({None, "idle", "busy", "interrupted", "error"}),
        )

    # -- life ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        waiting = await self.manager.delayed.all()
        await anyio.to_thread.run_sync(self.docs.load, {run.run_id for run in waiting})
        await self.assistants.setup()
        async with anyio.create_task_group() as tg:
            await tg.start(self.manager.serve)
            for run in waiting:
                await self._restore(run)
            start_housekeeping(tg, self, self.settings)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await self.manager.shutdown(self.settings.shutdown_grace_seconds)
                tg.cancel_scope.cancel()
        await anyio.to_thread.run_sync(self.docs.close)

    async def _restore(self, run: Delayed) -> None:
        """Make a delayed run stored before the restart again (it starts at its time);
        one that cannot be (its record, thread or graph is gone, or it had started when
        the process died) ends ``error``, as any run a crashed process left."""
        manager = self.manager
        try:
            record = await self.docs.get("run", run.run_id)
            thread = await self.docs.get("thread", run.thread_id)
            if (
                record is not None
                and record.get("status") == "pending"
                and thread is not None
                and run.graph_id in self.graphs.graphs
            ):
                await manager.create(
                    graph_id=run.graph_id,
                    assistant_id=run.assistant_id,
                    thread_id=run.thread_id,
                    payload=run.payload,
                    temporary=False,
                    restored=run,
                )
                return
            if record is not None and record.get("status") in ("pending", "running"):
                await self.docs.save("run", {**record, "status": "error"})
            await manager.delayed.remove(run.run_id)
        except Exception:
            log.exception("the delayed run %s could not be made again", run.run_id)

    async def drain(self, grace: float) -> None:
        await self.manager.shutdown(grace)

    def hurry(self) -> None:
        self.manager.hurry()

    def info(self) -> dict[str, Any]:
        manager = self.manager
        return {
            "version": "0.1.0",
            "flags": {"assistants": True, "crons": True},
            "graphs": list(self.graphs.graphs),
            "cleanups_finished": manager.cleanups_finished,
            "runs_in_memory": len(manager.live),
            "runs_running": sum(not live.done.is_set() for live in manager.live.values()),
            "accepting_runs": manager.accepting,
        }

    async def check(self) -> None:
        await self.docs.check()

    async def stats(self) -> RunStats:
        return self.manager.stats()

    def observe(self, metrics: Metrics | None, tracing: Tracing | None) -> None:
        self.manager.metrics = metrics
        self.manager.tracing = tracing
        self.docs.observe = None if metrics is None else metrics.store_took

    # -- assistants ----------------------------------------------------------------------

    async def assistant_deleted(self, assistant_id: str, *, delete_threads: bool) -> None:
        await self.crons.delete_for_assistant(assistant_id)
        manager = self.manager
        for live in list(manager.live.values()):
            if live.record.get("assistant_id") == assistant_id and not live.done.is_set():
                manager.cancel(live, "interrupt", f"assistant {assistant_id} was deleted")
        if delete_threads:
            while found := await self.docs.threads({"assistant_id": assistant_id}, None, 100, 0):
                for thread in found:
                    await self.delete_thread(thread["thread_id"])

    async def fire_cron(self, cron: dict[str, Any], tick: str) -> None:
        await self.create_run(cron["thread_id"], run_request(cron))

    # -- threads -------------------------------------------------------------------------

    async def thread(self, thread_id: str) -> ThreadRecord:
        thread_id = check_id(thread_id, "thread_id")
        thread = await self.docs.get("thread", thread_id)
        if thread is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return thread

    def thread_busy(self, thread: ThreadRecord) -> bool:
        return self.manager.busy(thread["thread_id"])

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
        thread = _new_thread(thread_id, metadata or {})
        created = await self.docs.insert("thread", thread)
        if not created:
            existing = await self.docs.get("thread", thread_id)
            if existing is None or if_exists != "do_nothing":
                raise ConflictError(f"thread {thread_id} already exists")
            thread = existing
        await self.ttls.apply(thread_id, ttl, created=created)
        if supersteps:
            await self.graphs.apply_supersteps(thread, supersteps)
        if created and not supersteps:
            return thread
        return await self.graphs.thread_values(thread)

    async def search_threads(
        self, query: ThreadQuery, limit: int, offset: int
    ) -> tuple[list[ThreadRecord], int | None]:
        return await search_threads(query, limit, offset, self._pushdown)

    async def get_thread(self, thread_id: str) -> ThreadRecord:
        return await self.graphs.thread_values(await self.thread(thread_id))

    async def patch_thread(
        self, thread_id: str, metadata: dict[str, Any], *, ttl: ThreadTTL | None = None
    ) -> ThreadRecord:
        tid = check_id(thread_id, "thread_id")

        def patched(thread: ThreadRecord) -> ThreadRecord:
            merged = {**thread.get("metadata", {}), **metadata}
            return {**thread, "metadata": merged, "updated_at": now_iso()}

        thread = await self.docs.update("thread", tid, patched)
        if thread is None:
            raise NotFoundError(f"thread {thread_id} not found")
        await self.ttls.apply(tid, ttl, created=False)
        return await self.graphs.thread_values(thread)

    async def count_threads(self, query: ThreadQuery) -> int:
        return await count_threads(query, self._pushdown)

    async def _fetch_threads(
        self, query: ThreadQuery, limit: int, offset: int
    ) -> list[ThreadRecord]:
        return await self.docs.threads(
            query.metadata,
            query.status,
            limit,
            offset,
            ids=query.ids,
            sort_by=query.sort_by,
            descending=query.descending,
        )

    async def _count_threads(self, query: ThreadQuery) -> int:
        return await self.docs.count_threads(query.metadata, query.status, query.ids)

    async def copy_thread(self, thread_id: str) -> ThreadRecord:
        source = await self.thread(thread_id)
        copy = _new_thread(str(uuid.uuid4()), dict(source.get("metadata") or {}))
        await self.docs.save("thread", copy)
        await self.ttls.apply(copy["thread_id"], None, created=True)
        await self.graphs.copy_state(source, copy["thread_id"])
        return await self.graphs.thread_values(copy)

    async def prune_threads(self, thread_ids: list[str], strategy: str) -> int:
        return await prune_threads(self, thread_ids, strategy)

    async def delete_thread(self, thread_id: str) -> None:
        thread = await self.thread(thread_id)
        tid = thread["thread_id"]
        manager = self.manager
        if tid in manager.deleting:
            raise ConflictError(f"thread {tid} is already being deleted")
        manager.deleting.add(tid)  # from here on the thread takes no new run
        try:
            for live in manager.unfinished(tid):
                manager.cancel(live, "interrupt", "thread deleted")
            for live in manager.unfinished(tid):
                await live.done.wait()
            saver = self.graphs.of_thread(thread).checkpointer
            if saver is not None:
                await saver.adelete_thread(tid)
            await self.docs.delete_runs(tid)
            await self.docs.delete("thread", tid)
            await self.ttls.clear(tid)
            await self.crons.delete_for_thread(tid)
        finally:
            manager.deleting.discard(tid)

    # -- runs ----------------------------------------------------------------------------

    async def _ensure_thread(
        self, thread_id: str, graph_id: str, create: bool, metadata: dict[str, Any]
    ) -> ThreadRecord:
        """The thread; it must exist (or is created, with ``if_not_exists='create'``, with
        ``metadata``: the run's, as LangGraph's server creates it)."""
        thread = await self.docs.get("thread", thread_id)
        if thread is None:
            if not create:
                raise NotFoundError(
                    f"thread {thread_id} not found; create it first, or pass if_not_exists='create'"
                )
            # Insert only: a thread created meanwhile by another request is kept as it is.
            created = _new_thread(thread_id, {**metadata, "graph_id": graph_id})
            await self.docs.insert("thread", created)
            thread = await self.docs.get("thread", thread_id) or created
        return thread

    async def _create(
        self, thread_id: str | None, body: RunCreate, *, follow: bool = False
    ) -> tuple[Live, int | None]:
        if body.webhook:
            check_url(body.webhook, allow_loopback=self.settings.webhook_loopback)
        assistant = await self.assistants.get(body.assistant_id)
        assistant_id, graph_id = assistant["assistant_id"], assistant["graph_id"]
        thread_metadata = None
        if thread_id is not None:
            thread_id = check_id(thread_id, "thread_id")
            create = body.if_not_exists == "create"
            new = self.graphs.new_thread_metadata(assistant, body)
            thread = await self._ensure_thread(thread_id, graph_id, create, new)
            thread_metadata = thread["metadata"]
            await self.ttls.touch(thread_id)
        self.graphs.check_run(graph_id, body, temporary=thread_id is None)
        payload = merge_into_run(assistant, body.payload())
        payload["metadata"] = self.graphs.run_metadata(assistant, thread_metadata, body)
        return await self.manager.create(
            graph_id=graph_id,
            assistant_id=assistant_id,
            thread_id=thread_id,
            payload=payload,
            temporary=thread_id is None,
            follow=follow,
        )

    def _events(
        self,
        live: Live,
        token: int,
        modes: frozenset[str] | None,
        cancel_on_disconnect: bool,
        *,
        temporary: bool,
    ) -> EventStream:
        manager = self.manager

        async def frames() -> AsyncIterator[bytes]:
            try:
                async with contextlib.aclosing(live.log.follow(token, modes)) as chunks:
                    async for chunk in chunks:
                        yield chunk
            finally:
                live.log.unsubscribe(token)
                if cancel_on_disconnect and not live.done.is_set():
                    with anyio.CancelScope(shield=True):
                        manager.cancel(live, "interrupt", "client disconnected")
                        await live.done.wait()

        location = run_location(live.record["thread_id"], live.run_id)
        return EventStream(frames(), location)

    async def create_run(self, thread_id: str | None, body: RunCreate) -> RunRecord:
        live, _ = await self._create(thread_id, body)
        return live.record

    async def stream_run(self, thread_id: str | None, body: RunCreate) -> EventStream:
        live, token = await self._create(thread_id, body, follow=True)
        assert token is not None
        cancel = body.on_disconnect == "cancel"
        return self._events(live, token, None, cancel, temporary=thread_id is None)

    async def wait_run(self, thread_id: str | None, body: RunCreate) -> tuple[Any, str]:
        live, _ = await self._create(thread_id, body)
        try:
            await live.done.wait()
        finally:
            if body.on_disconnect == "cancel" and not live.done.is_set():
                with anyio.CancelScope(shield=True):
                    self.manager.cancel(live, "interrupt", "client disconnected")
                    await live.done.wait()
        location = run_location(live.record["thread_id"], live.run_id)
        return live.final, location

    async def list_runs(
        self, thread_id: str, limit: int, offset: int, status: str | None
    ) -> list[RunRecord]:
        tid = (await self.thread(thread_id))["thread_id"]
        runs = await self.docs.runs(tid, status, limit, offset)
        # A running run's record is ahead of its stored one (e.g. a cancel request).
        return [self.manager.running_record(r["run_id"]) or r for r in runs]

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord:
        run_id = check_id(run_id, "run_id")
        live = self.manager.live.get(run_id)
        if live is None or not live.temporary:  # a stateless run's thread is not stored
            await self.thread(thread_id)
        # A running run's record is ahead of its stored one; a stateless run is not stored.
        if live is not None and (live.temporary or not live.done.is_set()):
            run: RunRecord | None = live.record
        else:
            run = await self.docs.get("run", run_id)
        if run is None or run["thread_id"] != check_id(thread_id, "thread_id"):
            raise NotFoundError(f"run {run_id} not found in thread {thread_id}")
        return run

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        run = await self.get_run(thread_id, run_id)
        if run["status"] not in TERMINAL:
            raise ConflictError(f"run {run_id} is {run['status']}; cancel it first")
        await self.docs.delete("run", run["run_id"])

    async def join_run(self, thread_id: str, run_id: str) -> Any:
        run = await self.get_run(thread_id, run_id)
        live = self.manager.live.get(run["run_id"])
        if live is None:  # finished and forgotten: the thread's state
            return await self.graphs.values(await self.thread(thread_id))
        await live.done.wait()
        return live.final

    async def join_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        cancel_on_disconnect: bool,
        modes: frozenset[str] | None,
        last_event_id: str | None,
    ) -> EventStream:
        run = await self.get_run(thread_id, run_id)
        live = self.manager.live.get(run["run_id"])
        after = _parse_last_event_id(last_event_id)
        if live is None:
            location = run_location(run["thread_id"], run["run_id"])
            return EventStream(_ended(), location)
        if after is None and live.resumable and live.log.ended:
            after = -1  # a finished resumable run: its events again, as LangGraph replays them
        token = live.log.subscribe(after)
        return self._events(live, token, modes, cancel_on_disconnect, temporary=False)

    async def cancel_runs(
        self,
        *,
        thread_id: str | None,
        run_ids: list[str] | None,
        status: str | None,
        action: CancelAction,
    ) -> int:
        statuses = ("pending", "running") if status in (None, "all") else (status,)
        wanted = None if run_ids is None else {check_id(r, "run_id") for r in run_ids}
        tid = None if thread_id is None else check_id(thread_id, "thread_id")
        found = [
            live
            for live in list(self.manager.live.values())
            if not live.done.is_set()
            and live.record["status"] in statuses
            and (tid is None or live.record["thread_id"] == tid)
            and (wanted is None or live.run_id in wanted)
        ]
        if not found:
            raise NotFoundError(
                "No matching runs to cancel: check the thread and run ids; the runs may "
                "have ended or been deleted"
            )
        for live in found:
            self.manager.cancel(live, action, f"{action} requested via POST /runs/cancel")
        return len(found)

    async def cancel_run(
        self, thread_id: str, run_id: str, *, wait: bool, action: CancelAction
    ) -> Any:
        run = await self.get_run(thread_id, run_id)
        live = self.manager.live.get(run["run_id"])
        if live is None or live.done.is_set():
            raise NotFoundError(
                f"run {run_id} has already ended with status {run['status']}: there is no "
                "pending or running run to cancel"
            )
        self.manager.cancel(live, action, "cancel endpoint")
        if not wait:
            return None
        with anyio.CancelScope(shield=True):
            await live.done.wait()
        return live.final


_MAX_EVENT_ID = 2**63 - 1


def _parse_last_event_id(value: str | None) -> int | None:
    """The event id after which a stream continues: ``None`` (no header) for the live
    end, ``-1`` ("from the start", as LangGraph's JS SDK sends it) for the first event
    the run's log still holds, else a plain ASCII event id of this server."""
    if not value:
        return None
    if value == "-1":
        return -1
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        raise InvalidRequestError(
            f"Last-Event-ID header {value[:40]!r} is not an event id: expected the `id` of "
            "an event of this run's stream (digits 0-9), or -1 to replay it from the start",
            code="InvalidId",
        )
    after = int(value)
    if after > _MAX_EVENT_ID:
        raise InvalidRequestError(
            f"Last-Event-ID header {value!r} is out of range: expected the `id` of an event "
            "of this run's stream, or -1 to replay it from the start",
            code="InvalidId",
        )
    return after


async def _ended() -> AsyncIterator[bytes]:
    """The stream of a run that has ended and whose events are gone: it closes at once."""
    return
    yield  # pragma: no cover - an async generator with nothing to send
