"""A worker of the scale-out run server: it claims runs from the PostgreSQL queue, runs
them, and publishes their events to Redis. Not wired into ``scopegraph serve`` yet.

One :class:`Worker` holds a task group with:

- a claim loop: ``RunQueue.claim`` while it has capacity (``max_runs``), each claimed run
  in a task of its own, inside its own cancel scope;
- one cancel listener: ``RunQueue.listen_cancels`` (LISTEN is active before a run's
  durable cancel request is checked, so no request is missed), which cancels the scope of
  a run this worker holds;
- per run, a heartbeat that renews the lease every third of it; a lost lease cancels the
  run (another worker may take it over).

A run executes like the single-process manager's: ``graph.open_stream`` in the run's
scope; each chunk is published to the run's Redis stream (``event: <mode>``). A
cancellation cancels the scope once, so every node's shielded cleanup completes, and the
checkpoint of the last completed step is saved before the run is finished. Finishing is
fenced on owner and attempt: a worker that lost its lease changes nothing.

A run claimed again after its worker died (``attempt`` > 1) resumes from its thread's last
checkpoint (input ``None``): completed steps are not re-run; the step that was in flight
runs again (at least once). Its stream then gets a ``metadata`` event with the new
``attempt`` before the continued output.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ._pg_queue import RunQueue
from ._redis_events import RedisEventLog
from ._runs import run_arguments, stream_run
from ._wire import dumps

__all__ = ("Worker",)


class Worker:
    """Claims and runs queued runs; see the module docstring."""

    def __init__(
        self,
        graphs: Mapping[str, Any],
        queue: RunQueue,
        events: RedisEventLog,
        *,
        worker_id: str | None = None,
        max_runs: int = 100,
        idle_poll: float = 0.05,
    ) -> None:
        self.graphs = dict(graphs)
        self.queue = queue
        self.events = events
        self.worker_id = worker_id or f"worker-{uuid.uuid4()}"
        self.max_runs = max_runs
        self.idle_poll = idle_poll
        self.running: dict[str, anyio.CancelScope] = {}
        self.finished: list[tuple[str, str]] = []
        """(run_id, status) of the runs this worker finished, in order."""
        self._capacity = anyio.Semaphore(max_runs)

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``started`` once the cancel listener is active."""
        async with anyio.create_task_group() as tg:
            await tg.start(self._listen_cancels)
            task_status.started()
            await self._claim_loop(tg)

    async def _listen_cancels(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        async with self.queue.listen_cancels() as cancels:
            task_status.started()
            async for run_id in cancels:
                scope = self.running.get(run_id)
                if scope is not None:
                    scope.cancel()

    async def _claim_loop(self, tg: TaskGroup) -> None:
        while True:
            await self._capacity.acquire()
            try:
                row = await self.queue.claim(self.worker_id)
            except BaseException:
                self._capacity.release()
                raise
            if row is None:
                self._capacity.release()
                await anyio.sleep(self.idle_poll)
                continue
            scope = anyio.CancelScope()
            self.running[row["run_id"]] = scope
            tg.start_soon(self._execute, row, scope)

    async def _execute(self, row: dict[str, Any], scope: anyio.CancelScope) -> None:
        run_id = row["run_id"]
        attempt = int(row["attempt"])
        try:
            # Registered above, before this durable check: a cancel sent in between is
            # seen either by the listener or here.
            if row.get("cancel_action") or await self.queue.cancel_requested(run_id):
                scope.cancel()
            status, error = await self._run_graph(row, scope, attempt)
            with anyio.CancelScope(shield=True):
                # The run's status first, its stream's last event second: a client that
                # sees the end and asks for the run finds it finished.
                message = None if error is None else error["message"]
                if not await self.queue.finish(
                    run_id, self.worker_id, status, attempt=attempt, error=message
                ):
                    return  # the lease was lost: the run and its stream are another's now
                self.finished.append((run_id, status))
                if error is not None:
                    await self.events.end(run_id, "error", dumps(error))
                else:
                    await self.events.end(run_id, "end", b"null")
        finally:
            self.running.pop(run_id, None)
            self._capacity.release()

    async def _run_graph(
        self, row: dict[str, Any], scope: anyio.CancelScope, attempt: int
    ) -> tuple[str, dict[str, str] | None]:
        run_id = row["run_id"]
        document: dict[str, Any] = row["run"]
        graph = self.graphs[document["graph_id"]]
        await self.events.publish(run_id, "metadata", dumps({"run_id": run_id, "attempt": attempt}))
        graph_input, config, options, modes = run_arguments(
            graph,
            document,
            thread_id=row["thread_id"],
            metadata={"run_id": run_id, "thread_id": row["thread_id"]},
        )
        if attempt > 1:
            graph_input = None  # taken over: resume from the thread's last checkpoint
        options.setdefault("durability", "sync")  # every step stored before the next one

        async def publish(event: str, chunk: Any) -> None:
            await self.events.publish(run_id, event, dumps(chunk))

        lost_lease = False

        async def heartbeat() -> None:
            nonlocal lost_lease
            while True:
                await anyio.sleep(self.queue.lease_seconds / 3)
                if not await self.queue.heartbeat(run_id, self.worker_id, attempt=attempt):
                    lost_lease = True
                    scope.cancel()
                    return

        with scope:
            async with anyio.create_task_group() as beats:
                beats.start_soon(heartbeat)
                try:
                    await stream_run(
                        graph,
                        graph_input,
                        config,
                        options,
                        modes,
                        subgraphs=bool(document.get("stream_subgraphs")),
                        emit=publish,
                    )
                except Exception as exc:
                    beats.cancel_scope.cancel()
                    return "error", {"error": type(exc).__name__, "message": str(exc)}
                beats.cancel_scope.cancel()
            return "success", None
        if lost_lease:
            return "error", {"error": "LeaseLost", "message": "this worker lost the run's lease"}
        return "interrupted", None


async def serve_worker(
    graphs: Mapping[str, Any],
    *,
    db: str,
    redis: str,
    worker_id: str | None = None,
    lease_seconds: float = 10.0,
    max_runs: int = 100,
) -> None:
    """A worker process's life: checkpoints and the queue in PostgreSQL ``db``, events in
    Redis ``redis``; a reaper re-queues the runs of workers whose lease expired. Returns
    on SIGTERM or SIGINT, after its runs were cancelled and their cleanup finished."""
    import signal

    from ..checkpoint import PostgresSaver

    saver = PostgresSaver(db)
    for graph in graphs.values():
        graph.checkpointer = saver
    async with (
        saver,
        RunQueue(db, lease_seconds=lease_seconds) as queue,
        RedisEventLog(redis) as events,
        anyio.create_task_group() as tg,
    ):
        worker = Worker(graphs, queue, events, worker_id=worker_id, max_runs=max_runs)

        async def reaper() -> None:
            while True:
                await queue.reap()
                await anyio.sleep(lease_seconds / 2)

        await tg.start(worker.run)
        tg.start_soon(reaper)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                break
        tg.cancel_scope.cancel()
