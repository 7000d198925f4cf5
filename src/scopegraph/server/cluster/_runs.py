"""The API side of the scale-out server: runs live in the PostgreSQL queue, their events in
Redis, and any API process serves any run.

``create_app(..., redis="redis://...")`` serves the run endpoints with the
:class:`~scopegraph.server.cluster.ClusterBackend` over a :class:`Cluster` instead of the
in-process run manager:

- creating a run enqueues it (:class:`RunQueue`; the multitask strategy is enforced in
  the database), and a worker (in this process, in ``--workers`` child processes, or in
  separate ``scopegraph worker`` processes) claims and runs it;
- a stream follows the run's Redis stream through the process's :class:`FollowHub` (one
  ``XREAD BLOCK`` for every stream the process serves); each SSE event carries its
  Redis id, so a client that reconnects to any API process with ``Last-Event-ID`` gets
  exactly the events it missed. If the stream was lost (its TTL passed, or Redis restarted
  without persistence), the stream says so in a ``metadata`` event, sends the thread's
  state from the PostgreSQL checkpoints (``values``) and follows the run from there;
- ``join`` and ``wait`` wait for the run's row to end and return the final values the
  worker stored with it;
- a cancel (the endpoint, a disconnect under ``on_disconnect="cancel"``, deleting the
  thread) is a durable request in the run's row plus a NOTIFY that the owning worker
  listens to; with ``wait`` the API returns once the worker has finished the run (its
  cleanup done, its checkpoint saved);
- threads are rows of the queue's thread table, read on every request: a thread created
  or changed through one API process is seen by all.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from .._domain import TERMINAL, CancelAction
from .._errors import ConflictError, InvalidRequestError, NotFoundError, UnavailableError
from .._pg_queue import (
    QueueError,
    RunQueue,
    ThreadBusyError,
    ThreadDeletingError,
    ThreadNotFoundError,
)
from .._wire import dumps, sse_frame
from ._redis_events import (
    _START,
    EventLogConnectionError,
    EventLogError,
    EventsLostError,
    FollowHub,
    RedisEventLog,
    _parse_id,
)
from ._rows import _iso, run_json

if TYPE_CHECKING:
    from ._worker import Worker

__all__ = ("Cluster", "run_json")

log = logging.getLogger("scopegraph.server")


def _run_error(row: Mapping[str, Any]) -> Any:
    """The error of a run that failed, as its stream's ``error`` event showed it."""
    result = row.get("result")
    if isinstance(result, dict) and result.get("__error__") is not None:
        return result["__error__"]
    return {"error": "Error", "message": row.get("error")}


def _lost_frames(run_id: str, values: Any, wanted: bool) -> list[bytes]:
    frames = [
        sse_frame(
            "metadata",
            dumps(
                {
                    "run_id": run_id,
                    "events_lost": True,
                    "message": "some of the run's events are gone from Redis (its stream "
                    "expired, or Redis restarted); the state below is the thread's last "
                    "checkpoint, and the run's events follow from there",
                }
            ),
            None,
        )
    ]
    if wanted and values is not None:
        frames.append(sse_frame("values", dumps(values), None))
    return frames


class Cluster:
    """Runs and threads of the scale-out server, shared through PostgreSQL and Redis."""

    def __init__(
        self,
        queue: RunQueue,
        events: RedisEventLog,
        *,
        block_ms: int = 1000,
        end_grace: float = 2.0,
    ) -> None:
        self.queue = queue
        self.events = events
        self.block_ms = block_ms
        self.end_grace = end_grace
        """Seconds a stream waits for the end event of a run whose row has ended."""
        self.draining = False
        self.hub = FollowHub(events)
        """Reads every stream this process follows with one XREAD; run by the app."""
        self.worker: Worker | None = None
        """The worker of this process, if it runs one."""
        self.following: dict[int, list[str]] = {}
        """The streams this process sends: ``[run_id, cursor]`` of each (metrics)."""

    # -- threads -------------------------------------------------------------------------

    async def thread_json(
        self, row: Mapping[str, Any], graph: Any, *, with_state: bool = True
    ) -> dict[str, Any]:
        """The thread as the API shows it; its status from its runs and checkpoint."""
        out: dict[str, Any] = {
            "thread_id": row["thread_id"],
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "metadata": row["metadata"],
            "state_updated_at": _iso(row["created_at"]),
            "status": "busy" if row["busy"] else "error" if row["last"] == "error" else "idle",
            "config": {},
            "values": None,
            "interrupts": {},
            "error": None,
        }
        if out["status"] == "error":  # LangGraph's thread shows its last run's error
            latest = await self.queue.list_runs(row["thread_id"], limit=1)
            if latest:
                out["error"] = _run_error(latest[0])
        if with_state:
            snapshot = await graph.aget_state({"configurable": {"thread_id": row["thread_id"]}})
            if snapshot.created_at is not None:
                out["state_updated_at"] = snapshot.created_at
                out["values"] = snapshot.values
                out["interrupts"] = {
                    task.id: [{"value": i.value, "id": i.id} for i in task.interrupts]
                    for task in snapshot.tasks
                    if task.interrupts
                }
                if out["status"] == "idle" and (snapshot.next or snapshot.interrupts):
                    out["status"] = "interrupted"
        return out

    async def delete_thread(self, thread_id: str, saver: Any) -> None:
        """Cancel the thread's runs (and wait for them), then delete it all."""
        # From here on the thread takes no new run (in every process); a run that ends
        # meanwhile never re-creates it.
        for run_id, status in await self.queue.begin_delete_thread(thread_id):
            if status == "interrupted":
                await self._end_unclaimed(run_id)
            else:
                await self.wait_done(run_id)
        if saver is not None:
            await saver.adelete_thread(thread_id)
        await self.queue.delete_thread(thread_id)

    # -- runs ----------------------------------------------------------------------------

    async def create(
        self,
        *,
        graph_id: str,
        assistant_id: str,
        thread_id: str | None,
        payload: dict[str, Any],
        temporary: bool,
        run_id: str | None = None,
        trace_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Queue a run (``run_id``: its id, e.g. a cron tick's; queueing the same id again
        returns the run already queued, and a stateless one gets the same thread)."""
        if self.draining:
            raise UnavailableError("this server is shutting down and takes no new runs")
        strategy = payload.get("multitask_strategy") or "enqueue"
        if run_id is not None and thread_id is None:
            thread_id = str(uuid.uuid5(uuid.UUID(run_id), "thread"))
        run_id = run_id or str(uuid.uuid4())
        document = {
            **payload,
            "run_id": run_id,
            "graph_id": graph_id,
            "assistant_id": assistant_id,
            "metadata": payload.get("metadata") or {},
            "temporary": temporary,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
        }
        if payload.get("after_seconds"):  # no worker claims it before then
            start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
                seconds=float(payload["after_seconds"])
            )
            document["not_before"] = start.isoformat()
        try:
            row = await self.queue.enqueue(
                document,
                thread_id=thread_id or str(uuid.uuid4()),
                multitask_strategy=strategy,
                existing_thread=not temporary,
                trace_context=trace_context,
            )
        except ThreadNotFoundError as exc:
            raise NotFoundError(f"thread {exc.thread_id} not found") from None
        except ThreadDeletingError as exc:
            raise ConflictError(str(exc)) from None
        except ThreadBusyError as exc:
            raise ConflictError(
                f"thread {exc.thread_id} is busy with run {', '.join(exc.active)}; wait for "
                "it, or pass multitask_strategy='enqueue', 'interrupt' or 'rollback'"
            ) from None
        return row

    async def get(self, run_id: str) -> dict[str, Any] | None:
        return await self.queue.get(run_id)

    async def _end_unclaimed(self, run_id: str) -> None:
        """End the stream of a run that ended before any worker claimed it."""
        with contextlib.suppress(EventLogError):
            await self.events.end(run_id, "end", b"null")

    async def cancel(self, run_id: str, action: CancelAction, reason: str) -> str | None:
        """Request the run's cancellation; its status after the request (None: it had
        ended already)."""
        status = await self.queue.request_cancel(run_id, action, reason=reason)
        if status == "interrupted":  # it was pending: nobody will run it
            await self._end_unclaimed(run_id)
            if action == "rollback":  # it wrote nothing; it goes, as if it had never been
                await self.queue.delete_run(run_id)
        return status

    async def wait_done(self, run_id: str) -> dict[str, Any] | None:
        """The run's row once it has ended (None if it was deleted, e.g. rolled back)."""
        cursor: str | None = None
        while True:
            row = await self.queue.get(run_id)
            if row is None or row["status"] in TERMINAL:
                return row

            async def ended() -> bool:
                found = await self.queue.get(run_id)
                return found is None or found["status"] in TERMINAL

            try:
                if cursor is None:
                    cursor = await self.events.last_id(run_id)
                follow = self.events.follow(
                    run_id, cursor, block_ms=self.block_ms, until=ended, via=self.hub
                )
                async with contextlib.aclosing(follow) as entries:
                    async for event_id, _, _ in entries:
                        cursor = event_id
            except EventLogError:  # lost or unreachable: the row alone tells
                cursor = None
                await anyio.sleep(self.block_ms / 1000)

    async def final_values(self, row: Mapping[str, Any] | None, graph: Any) -> Any:
        if row is None:
            return None
        if row.get("result") is not None:
            return row["result"]
        snapshot = await graph.aget_state({"configurable": {"thread_id": row["thread_id"]}})
        return snapshot.values if snapshot.created_at is not None else None

    # -- streaming -----------------------------------------------------------------------

    async def start_cursor(
        self, run_id: str, last_event_id: str | None, *, new: bool
    ) -> str | None:
        """Where a stream starts: after ``Last-Event-ID``; at the start of a new run's
        events (the creating request); else at the live end (a join)."""
        if last_event_id == "-1":  # "from the start" (LangGraph's JS SDK sends it)
            return _START
        if last_event_id is not None:
            try:
                _parse_id(last_event_id)
            except ValueError:
                raise InvalidRequestError(
                    f"Last-Event-ID header {last_event_id[:60]!r} is not an event id of this "
                    "server: expected the `id` of an event of this run's stream "
                    "(<epoch>-<n>), or -1 to replay it from the start",
                    code="InvalidId",
                ) from None
            return last_event_id
        if new:
            return None
        try:
            return await self.events.last_id(run_id)
        except EventLogConnectionError:
            return None

    async def frames(
        self,
        run_id: str,
        graph: Any,
        cursor: str | None,
        modes: frozenset[str] | None,
    ) -> AsyncGenerator[bytes, None]:
        """The run's SSE frames from ``cursor`` on, until its last event."""
        token = id(object())
        while token in self.following:
            token += 1
        follower = self.following[token] = [run_id, cursor or ""]
        frames = self._frames(run_id, graph, cursor, modes, follower)
        try:
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    yield frame
        finally:
            del self.following[token]

    async def _frames(
        self,
        run_id: str,
        graph: Any,
        cursor: str | None,
        modes: frozenset[str] | None,
        follower: list[str],
    ) -> AsyncGenerator[bytes, None]:
        gave_up_at: float | None = None

        async def ended_without_end() -> bool:
            # A row that ended is followed by its end event within moments; a run that
            # never got one (cancelled while pending, reaped, Redis lost) ends here.
            nonlocal gave_up_at
            if self.draining:
                return True
            try:
                row = await self.queue.get(run_id)
            except QueueError:
                return False
            if row is not None and row["status"] not in TERMINAL:
                gave_up_at = None
                return False
            now = anyio.current_time()
            if gave_up_at is None:
                gave_up_at = now + self.end_grace
            return now >= gave_up_at

        while True:
            try:
                follow = self.events.follow_batches(
                    run_id, cursor, block_ms=self.block_ms, until=ended_without_end, via=self.hub
                )
                async with contextlib.aclosing(follow) as batches:
                    async for batch in batches:
                        frames = []
                        for event_id, event, data in batch:
                            cursor = event_id
                            if event == "end":  # the stream closes, as LangGraph's does
                                continue
                            if modes is None or event.partition("|")[0] in modes:
                                frames.append(sse_frame(event, data, event_id))
                        if frames:
                            yield b"".join(frames)
                        follower[1] = cursor or ""
                        if self.draining:
                            return  # the run goes on; the client rejoins elsewhere
                # follow() returns after the run's last entry ("end" or "error"), or when
                # the row ended and no such entry came, or the server drains: the stream
                # closes (a run that ended without an error sends no last frame).
                return
            except EventsLostError as exc:
                log.info("run %s: %s", run_id, exc)
                thread_id = await self._thread_of(run_id)
                snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
                values = snapshot.values if snapshot.created_at is not None else None
                for frame in _lost_frames(run_id, values, modes is None or "values" in modes):
                    yield frame
                cursor = None  # the stream as it is now, from its start
            except EventLogConnectionError as exc:
                log.warning("run %s: Redis is unreachable (%s); waiting", run_id, exc)
                if await ended_without_end():
                    return
                await anyio.sleep(self.block_ms / 1000)

    async def event_lag(self) -> int:
        """Events of the followed runs not yet sent to their followers, summed (one
        Redis read per followed run)."""
        lag = 0
        for run_id, cursor in list(self.following.values()):
            try:
                last = await self.events.last_id(run_id)
            except EventLogError:
                continue
            if last is None:
                continue
            sent = int(cursor.partition("-")[2] or 0) if cursor else 0
            lag += max(int(last.partition("-")[2] or 0) - sent, 0)
        return lag

    async def _thread_of(self, run_id: str) -> str:
        row = await self.queue.get(run_id)
        return row["thread_id"] if row is not None else ""

    async def drain(self, grace: float) -> None:
        """Take no new runs; stop this process's worker (its runs get ``grace`` seconds,
        then go back to the queue for another worker). Open streams end within
        ``block_ms`` without their last event (their runs go on: a client reconnects to
        another API process with Last-Event-ID)."""
        self.draining = True
        if self.worker is not None:
            await self.worker.stop(grace)

    def hurry(self) -> None:
        if self.worker is not None:
            self.worker.hurry()
