"""A worker of the scale-out run server: it claims runs from the PostgreSQL queue, runs
them, and publishes their events to Redis.

One :class:`Worker` holds a task group with:

- a claim loop: ``RunQueue.claim`` while it has capacity (``max_runs``), each claimed run
  in a task of its own, inside its own cancel scope;
- one cancel listener: ``RunQueue.listen_cancels`` (LISTEN is active before a run's
  durable cancel request is checked, so no request is missed), which cancels the scope of
  a run this worker holds. A lost connection is opened again, and the durable requests of
  the runs held are read again;
- per run, a heartbeat that renews the lease every third of it; a lease that is lost (or
  cannot be renewed before it expires) cancels the run: another worker may take it over.

A run executes through :mod:`scopegraph.server._executor`, the same code as the
single-process manager's: ``graph.open_stream`` in the run's scope; each chunk goes to
the run's Redis stream (``event: <mode>``) through the worker's batcher, which sends
what all its runs emitted in one pipeline per round trip. A cancellation cancels the
scope once, so every node's shielded cleanup completes, and the checkpoint of the last
completed step is saved before the run is finished. Finishing is fenced on owner and
attempt: a worker that lost its lease changes nothing. The run's final values are
stored with it (``join`` and ``wait`` read them from any process).

Failures of the shared services:

- Redis unreachable: the run goes on; its events are dropped until Redis answers again
  (a reader notices the gap and reads the state from the checkpoints), and the final
  ``end`` event is retried until it is stored.
- PostgreSQL unreachable: a checkpoint write fails and the run stops; the worker leaves it
  to the reaper, which re-queues it once its lease has expired and PostgreSQL is back,
  and a worker resumes it from its last checkpoint. Claims, heartbeats, finishing and the
  listener retry with backoff.

A run claimed again after its worker died or stopped (``attempt`` > 1) resumes from its
thread's last checkpoint (input ``None``): completed steps are not re-run; the step that
was in flight runs again (at least once). Its stream then gets a ``metadata`` event with
the new ``attempt`` before the continued output.

Stopping (:meth:`Worker.stop`): no new claims; running runs get a grace period, then are
cancelled (their cleanup completes, their last checkpoint is saved) and handed back to
the queue, pending, for another worker to resume.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import orjson
from anyio.abc import TaskGroup

from .. import _executor as executor
from .. import _webhook as webhook
from .._domain import CancelAction
from .._logs import bind_run
from .._metrics import METRICS_MISSING, Metrics, RunStats, instrument_saver, open_metrics
from .._pg_queue import QueueConnectionError, QueueError, RunQueue
from .._tracing import RunTrace, Tracing
from .._wire import dumps, now_iso
from ._redis_events import EventLogConnectionError, EventLogError, RedisEventLog
from ._rows import run_json

__all__ = ("Worker", "serve_worker")

log = logging.getLogger("scopegraph.worker")

_T = TypeVar("_T")


class _ServiceDown(Exception):
    """PostgreSQL could not be reached while the run was running: leave the run to the
    reaper (it is re-queued when its lease expires)."""


def _is_service_failure(exc: BaseException) -> bool:
    from ...checkpoint import CheckpointConnectionError

    return isinstance(exc, CheckpointConnectionError | QueueConnectionError)


async def _retry(what: str, call: Callable[[], Awaitable[_T]], *, deadline: float = math.inf) -> _T:
    """``call()`` until it does not fail to connect, with backoff, until ``deadline``."""
    delay = 0.05
    while True:
        try:
            return await call()
        except (QueueConnectionError, EventLogConnectionError) as exc:
            if anyio.current_time() + delay > deadline:
                raise
            log.warning("%s failed (%s); retrying in %.2fs", what, exc, delay)
        await anyio.sleep(delay)
        delay = min(delay * 2, 1.0)


class _Batcher:
    """The events of every run of a worker go to Redis in batches: one round trip (a
    pipeline of one script call per run) carries whatever the runs emitted while the
    previous one was under way. A run's events keep their order; a run never waits for
    Redis unless it has ``max_pending`` events waiting.

    While Redis cannot be reached, events are dropped (the runs go on; a reader notices
    the gap in the ids and reads the state from the checkpoints) and sending is tried
    again after ``retry_after`` seconds."""

    def __init__(
        self, events: RedisEventLog, *, retry_after: float = 0.25, max_pending: int = 1000
    ) -> None:
        self.events = events
        self.retry_after = retry_after
        self.max_pending = max_pending
        self.pending: dict[str, list[tuple[str, bytes]]] = {}
        self.sending: frozenset[str] = frozenset()
        self.dropped = 0
        self.running = False
        self._wake = anyio.Event()
        self._sent = anyio.Event()
        self._down_until = -math.inf

    async def publish(self, run_id: str, event: str, data: bytes) -> None:
        queue = self.pending.setdefault(run_id, [])
        queue.append((event, data))
        self._wake.set()
        if len(queue) >= self.max_pending:
            await self.flush(run_id)

    async def flush(self, run_id: str) -> None:
        """Return once the events of ``run_id`` published so far were sent (or dropped,
        or the batcher stopped)."""
        while self.running and (run_id in self.pending or run_id in self.sending):
            await self._sent.wait()

    async def run(self) -> None:
        self.running = True
        try:
            await self._send_forever()
        finally:
            self.running = False
            self._sent.set()  # nobody waits for a batcher that has stopped

    async def _send_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            batch, self.pending = self.pending, {}
            self.sending = frozenset(batch)
            try:
                if anyio.current_time() < self._down_until:
                    self.dropped += sum(map(len, batch.values()))
                else:
                    await self.events.publish_batch(batch)
            except EventLogConnectionError as exc:
                self.dropped += sum(map(len, batch.values()))
                self._down_until = anyio.current_time() + self.retry_after
                log.warning("events of %d runs were not stored in Redis: %s", len(batch), exc)
            finally:
                self.sending = frozenset()
                sent, self._sent = self._sent, anyio.Event()
                sent.set()


class _Publisher:
    """One run's events: through the worker's :class:`_Batcher`; the last one directly,
    after the others, retried until Redis has it."""

    def __init__(self, batcher: _Batcher, run_id: str) -> None:
        self.batcher = batcher
        self.events = batcher.events
        self.run_id = run_id

    async def publish(self, event: str, data: bytes) -> None:
        await self.batcher.publish(self.run_id, event, data)

    async def end(self, event: str, data: bytes, *, within: float = 60.0) -> None:
        """The run's last event, retried until Redis has it (or ``within`` seconds)."""
        await self.batcher.flush(self.run_id)
        try:
            await _retry(
                f"run {self.run_id}: the end event",
                lambda: self.events.end(self.run_id, event, data),
                deadline=anyio.current_time() + within,
            )
        except EventLogConnectionError as exc:
            log.error("run %s: the end event could not be stored: %s", self.run_id, exc)
        except EventLogError:
            pass  # it had ended already: an earlier try did land


class Worker:
    """Claims and runs queued runs; see the module docstring.

    Args:
        graphs: ``{graph_id: compiled graph}``; each has its checkpointer set.
        queue, events: the run queue and the event log (this worker's own connections).
        worker_id: the owner name written into the runs it claims.
        max_runs: the most runs it holds at once.
        idle_poll: seconds between claims while no run is claimable; a NOTIFY of each
            enqueue (and the end of one of its runs) wakes the worker sooner.
        claim_batch: the most runs one claim takes.
        run_timeout: seconds after which a run is cancelled and ends ``timeout``
            (a run's own ``timeout`` field overrides it).
    """

    def __init__(
        self,
        graphs: Mapping[str, Any],
        queue: RunQueue,
        events: RedisEventLog,
        *,
        worker_id: str | None = None,
        max_runs: int = 100,
        idle_poll: float = 0.25,
        run_timeout: float | None = None,
        claim_batch: int = 10,
    ) -> None:
        self.graphs = dict(graphs)
        self.queue = queue
        self.events = events
        self.worker_id = worker_id or f"worker-{uuid.uuid4()}"
        self.max_runs = max_runs
        self.idle_poll = idle_poll
        self.claim_batch = claim_batch
        self.run_timeout = run_timeout
        self.running: dict[str, anyio.CancelScope] = {}
        self.finished: list[tuple[str, str]] = []
        """(run_id, status) of the runs this worker finished, in order."""
        self.cleanups_finished = 0
        self.metrics: Metrics | None = None
        self.tracing: Tracing | None = None
        self._cancelled_at: dict[str, float] = {}
        """When the cancellation of a run held here was first asked for."""
        self._capacity = anyio.Semaphore(max_runs)
        self._batcher = _Batcher(events)
        self._work = anyio.Event()
        """Set when a run may have become claimable (queued, or one of ours ended)."""
        self._listening = False
        self._early_cancels: dict[str, float] = {}
        self._claiming = anyio.CancelScope()
        self._grace: anyio.CancelScope | None = None
        self._stopping = False
        self._idle = anyio.Event()
        self._idle.set()
        self._tasks: TaskGroup | None = None
        """The worker's task group (webhooks are sent in it)."""

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``started`` once the cancel listener is active."""
        async with anyio.create_task_group() as tg:
            self._tasks = tg
            tg.start_soon(self._batcher.run)
            await tg.start(self._listen_cancels)
            task_status.started()
            with self._claiming:
                await self._claim_loop(tg)
            await self._idle.wait()
            tg.cancel_scope.cancel()

    async def stop(self, grace: float) -> None:
        """Claim nothing more; give running runs ``grace`` seconds, then cancel them and
        hand them back to the queue. Returns when no run is left (cleanups finished)."""
        self._stopping = True
        self._claiming.cancel()
        with anyio.move_on_after(grace) as self._grace:
            await self._idle.wait()
        for run_id in list(self.running):
            self._cancel(run_id)
        with anyio.CancelScope(shield=True):
            await self._idle.wait()

    def hurry(self) -> None:
        """End the grace period of :meth:`stop` now."""
        if self._grace is not None:
            self._grace.cancel()

    async def _listen_cancels(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        started = False
        delay = 0.05
        while True:
            try:
                async with self.queue.listen_cancels(self._wake_claims) as cancels:
                    self._listening = True
                    if not started:
                        started = True
                        task_status.started()
                    else:  # requests sent while the listener was away are in the rows
                        for run_id in list(self.running):
                            if await self.queue.cancel_requested(run_id):
                                self._cancel(run_id)
                    delay = 0.05
                    async for run_id in cancels:
                        self._cancel(run_id)
            except QueueConnectionError as exc:
                self._listening = False
                if not started:
                    raise
                log.warning("cancel listener lost PostgreSQL (%s); again in %.2fs", exc, delay)
            await anyio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _wake_claims(self) -> None:
        self._work.set()

    def _cancel(self, run_id: str) -> None:
        scope = self.running.get(run_id)
        if scope is not None:
            self._cancelled_at.setdefault(run_id, anyio.current_time())
            scope.cancel()
            return
        # Perhaps a run just claimed and not registered yet: remembered for a while.
        now = anyio.current_time()
        self._early_cancels[run_id] = now
        if len(self._early_cancels) > 1000:
            for old, at in list(self._early_cancels.items()):
                if now - at > 60:
                    del self._early_cancels[old]

    async def _claim_loop(self, tg: TaskGroup) -> None:
        delay = self.idle_poll
        while True:
            await self._capacity.acquire()
            wanted = 1  # and as many more as there is room for, up to claim_batch
            while wanted < self.claim_batch and self._capacity.value > 0:
                self._capacity.acquire_nowait()
                wanted += 1
            self._work = anyio.Event()  # before the claim: a later enqueue sets it
            try:
                rows = await self.queue.claim_many(self.worker_id, wanted)
            except QueueConnectionError as exc:
                for _ in range(wanted):
                    self._capacity.release()
                log.warning("claim failed (%s); again in %.2fs", exc, delay)
                await anyio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            except BaseException:
                for _ in range(wanted):
                    self._capacity.release()
                raise
            delay = self.idle_poll
            for _ in range(wanted - len(rows)):
                self._capacity.release()
            if not rows:
                with anyio.move_on_after(self.idle_poll):
                    await self._work.wait()
                continue
            for row in rows:
                scope = anyio.CancelScope()
                self.running[row["run_id"]] = scope
                # A cancel request committed after the claim is NOTIFYed; the listener
                # heard it already (kept in _early_cancels) or will hear it now. Only
                # while the listener is away must the run's row be read.
                early = self._early_cancels.pop(row["run_id"], None)
                if row.get("cancel_action") or early:
                    self._cancelled_at[row["run_id"]] = early or anyio.current_time()
                    scope.cancel()
                row["check_cancel"] = not self._listening
                self._idle = anyio.Event() if self._idle.is_set() else self._idle
                tg.start_soon(self._execute, row, scope)

    async def _execute(self, row: dict[str, Any], scope: anyio.CancelScope) -> None:
        run_id = row["run_id"]
        attempt = int(row["attempt"])
        publisher = _Publisher(self._batcher, run_id)
        bind_run(run_id, None if row["run"].get("temporary") else row["thread_id"])
        status, error = "requeued", None
        try:
            if row.get("check_cancel"):  # claimed while the listener was away
                try:
                    if await self.queue.cancel_requested(run_id):
                        self._cancel(run_id)
                except QueueConnectionError:
                    pass  # the listener reads the rows again once it is back
            try:
                outcome = await self._run_graph(row, scope, attempt, publisher)
            except _ServiceDown as exc:
                log.warning("run %s: %s; its lease will expire and it is re-queued", run_id, exc)
                return
            status, error = outcome[0], outcome[1]
            with anyio.CancelScope(shield=True):
                await self._settle(row, attempt, publisher, *outcome)
        finally:
            trace: RunTrace | None = row.get("trace")
            if trace is not None:
                trace.end(status, cleanup_seconds=row.get("cleanup"), error=error)
            self._cancelled_at.pop(run_id, None)
            self.running.pop(run_id, None)
            self._capacity.release()
            self._work.set()  # a run of the same thread may be claimable now
            if not self.running:
                self._idle.set()

    async def _settle(
        self,
        row: dict[str, Any],
        attempt: int,
        publisher: _Publisher,
        status: str,
        error: dict[str, str] | None,
        result: bytes | None,
    ) -> None:
        run_id = row["run_id"]
        lease_end = anyio.current_time() + self.queue.lease_seconds
        if status == "released":
            try:
                await _retry(
                    f"run {run_id}: hand back",
                    lambda: self.queue.release(run_id, self.worker_id, attempt=attempt),
                    deadline=lease_end,
                )
            except QueueConnectionError:
                pass  # the reaper re-queues it when the lease expires
            return
        message = None if error is None else error["message"]
        try:
            # The run's status first, its stream's last event second: a client that
            # sees the end and asks for the run finds it finished.
            try:
                finished = await self._finish(row, attempt, status, message, result, lease_end)
            except QueueError as exc:
                if isinstance(exc, QueueConnectionError):
                    raise
                # the queue refused the run's end (e.g. a result jsonb cannot keep): the
                # run ends error, and this worker goes on
                log.error("run %s: its end could not be recorded: %s", run_id, exc)
                error = executor.unstored_error()
                status, message = "error", error["message"]
                result = dumps({"__error__": error})
                finished = await self._finish(row, attempt, status, message, result, lease_end)
        except QueueConnectionError as exc:
            log.warning(
                "run %s: could not record its end (%s); the reaper re-queues it", run_id, exc
            )
            return
        except QueueError as exc:
            log.error("run %s: could not record its end: %s", run_id, exc)
            return
        if not finished:
            return  # the lease was lost: the run and its stream are another's now
        self.finished.append((run_id, status))
        if self.metrics is not None:
            self.metrics.run_ended(status)
        if row.get("rolled_back"):  # as if it had never been: the run goes too
            with contextlib.suppress(QueueConnectionError):
                await self.queue.delete_run(run_id)
        if error is not None:
            await publisher.end("error", dumps(error))
        else:
            await publisher.end("end", b"null")
        url = row["run"].get("webhook")
        if url and self._tasks is not None:  # after the run's end: it never delays it
            run = run_json(row)  # as claimed: updated when it started
            body = webhook.payload(
                run,
                status=status,
                started_at=run["updated_at"],
                ended_at=now_iso(),
                final=None if result is None else orjson.loads(result),
            )
            self._tasks.start_soon(webhook.deliver, url, body)

    async def _finish(
        self,
        row: dict[str, Any],
        attempt: int,
        status: str,
        message: str | None,
        result: bytes | None,
        deadline: float,
    ) -> bool:
        """Record the run's end in the queue, retried while PostgreSQL cannot be reached
        (until ``deadline``); False if the lease was lost."""
        return await _retry(
            f"run {row['run_id']}: finish",
            lambda: self.queue.finish(
                row["run_id"],
                self.worker_id,
                status,
                attempt=attempt,
                error=message,
                result=result,
                lifecycle=row.get("events", ()),
            ),
            deadline=deadline,
        )

    async def _run_graph(
        self, row: dict[str, Any], scope: anyio.CancelScope, attempt: int, publisher: _Publisher
    ) -> tuple[str, dict[str, str] | None, bytes | None]:
        run_id = row["run_id"]
        document: dict[str, Any] = row["run"]
        graph = self.graphs.get(document.get("graph_id", ""))
        if graph is None:
            error = {
                "error": "UnknownGraph",
                "message": f"this worker serves no graph {document.get('graph_id')!r}; "
                f"it serves {sorted(self.graphs)}",
            }
            return "error", error, dumps({"__error__": error})
        await publisher.publish("metadata", dumps({"run_id": run_id, "attempt": attempt}))
        spec = executor.RunSpec(
            run_id=run_id,
            thread_id=row["thread_id"],
            graph_id=document["graph_id"],
            assistant_id=document.get("assistant_id"),
            graph=graph,
            payload=document,
            temporary=bool(document.get("temporary")),
            resume=attempt > 1,
            durability="sync",  # every step stored before the next one
        )
        executor.start_clock(scope, spec, self.run_timeout)
        trace: RunTrace | None = None
        if self.tracing is not None:
            trace = row["trace"] = self.tracing.start_run(
                run_id=run_id,
                thread_id=spec.thread_id,
                graph_id=spec.graph_id,
                attempt=attempt,
                worker=self.worker_id,
                parent=self.tracing.parent_from(row.get("trace_context")),
            )

        async def emit(event: str, chunk: Any) -> None:
            await publisher.publish(event, dumps(chunk))

        lease = _Lease(self, run_id, attempt, scope)
        failure: BaseException | None = None
        values: Any = None
        # The heartbeats run outside the run's scope: a cancelled run keeps its lease
        # while its shielded cleanup runs and its last checkpoint is stored (else the
        # reaper would end it meanwhile, and a DELETE waiting for it would go ahead).
        async with anyio.create_task_group() as beats:
            beats.start_soon(lease.keep)
            with scope:
                try:
                    values = await executor.stream(
                        spec, emit, None if trace is None else trace.task
                    )
                except Exception as exc:
                    failure = exc
            cleanup = row["cleanup"] = executor.cleanup_seconds(
                scope, self._cancelled_at.get(run_id)
            )
            beats.cancel_scope.cancel()
        if cleanup is not None and self.metrics is not None:
            self.metrics.cleanup_took(cleanup)
        if scope.cancel_called:
            self.cleanups_finished += 1
        if lease.lost:
            raise _ServiceDown("this worker lost the run's lease")
        if failure is not None and _is_service_failure(failure):
            raise _ServiceDown(f"a service failed during the run: {failure}")
        return await self._outcome(spec, row, scope, failure, values)

    async def _outcome(
        self,
        spec: executor.RunSpec,
        row: dict[str, Any],
        scope: anyio.CancelScope,
        failure: BaseException | None,
        values: Any,
    ) -> tuple[str, dict[str, str] | None, bytes | None]:
        """(status, last error event, stored result) of a run that ended on this worker."""
        action: CancelAction | None = None
        if scope.cancel_called:
            try:
                requested = await _retry(
                    f"run {spec.run_id}: its cancel request",
                    lambda: self.queue.cancel_requested(spec.run_id),
                    deadline=anyio.current_time() + self.queue.lease_seconds,
                )
            except QueueConnectionError as exc:
                raise _ServiceDown(str(exc)) from exc
            if requested is not None:
                action = "rollback" if requested == "rollback" else "interrupt"
        timed_out = scope.cancel_called and anyio.current_time() >= scope.deadline
        if scope.cancel_called and action is None and not timed_out and self._stopping:
            return "released", None, None  # stopped with the worker: another resumes it
        try:
            outcome = await executor.settle(
                spec, scope, failure=failure, values=values, action=action
            )
        except Exception as exc:
            if _is_service_failure(exc):
                raise _ServiceDown(str(exc)) from exc
            log.exception("run %s: settling it failed", spec.run_id)
            outcome = executor.failed(exc)  # the run ends error; the worker goes on
        # Claims and cancel requests were recorded by the queue as they happened.
        row.setdefault("events", []).extend(outcome.lifecycle)
        row["rolled_back"] = outcome.rolled_back  # _settle deletes the run once finished
        event, data = outcome.event
        try:
            result = dumps(outcome.final)
        except TypeError as exc:  # e.g. an integer outside 64 bits in a stateless run's values
            log.error("run %s: its final values cannot be stored: %s", spec.run_id, exc)
            error = executor.unstored_error()
            return "error", error, dumps({"__error__": error})
        return outcome.status, data if event == "error" else None, result


class _Lease:
    """A run's lease, renewed every third of it while the run runs; a lease that is lost
    (or cannot be renewed before it expires) cancels the run's scope."""

    def __init__(self, worker: Worker, run_id: str, attempt: int, scope: anyio.CancelScope):
        self.queue = worker.queue
        self.worker_id = worker.worker_id
        self.run_id = run_id
        self.attempt = attempt
        self.scope = scope
        self.lost = False

    async def keep(self) -> None:
        lease = self.queue.lease_seconds
        expires = anyio.current_time() + lease
        while True:
            await anyio.sleep(lease / 3)
            try:
                # Shielded: a query cut short would cost its connection.
                with anyio.CancelScope(shield=True):
                    renewed = await _retry(
                        f"run {self.run_id}: heartbeat",
                        lambda: self.queue.heartbeat(
                            self.run_id, self.worker_id, attempt=self.attempt
                        ),
                        deadline=expires,
                    )
            except QueueConnectionError:
                renewed = False
            if not renewed:
                self.lost = True
                self.scope.cancel()
                return
            expires = anyio.current_time() + lease


async def serve_worker(
    graphs: Mapping[str, Any],
    *,
    db: str,
    redis: str,
    worker_id: str | None = None,
    lease_seconds: float = 10.0,
    max_runs: int = 100,
    grace: float = 10.0,
    run_timeout: float | None = None,
    tracer_provider: Any = None,
    metrics_address: tuple[str, int] | None = None,
    store_config: Mapping[str, Any] | None = None,
) -> None:
    """A worker process's life: checkpoints and the queue in PostgreSQL ``db``, events in
    Redis ``redis``; a reaper re-queues the runs of workers whose lease expired. On
    SIGTERM or SIGINT it stops (:meth:`Worker.stop` with ``grace``) and returns.
    ``tracer_provider``: spans of the runs (each under the trace of the request that
    queued it). ``metrics_address``: (host, port) where it serves its Prometheus metrics
    (``/metrics``: its runs, the queue). ``store_config``: the store's ``index`` and
    ``ttl``, as the API processes have them (the same ``langgraph.json``), so that the
    runs' ``runtime.store`` embeds what they put (the API processes sweep it)."""
    import signal

    from ...checkpoint import PostgresSaver
    from .._graphs import give_store
    from .._long_term import close_store, open_store

    # the store the API processes serve at /store/...
    store = open_store(db, **(store_config or {}))
    saver = PostgresSaver(db)
    for graph in graphs.values():
        graph.checkpointer = saver
    give_store(graphs.values(), store)
    async with (
        saver,
        contextlib.AsyncExitStack() as stack,
        RunQueue(db, lease_seconds=lease_seconds) as queue,
        RedisEventLog(redis) as events,
        anyio.create_task_group() as tg,
    ):
        stack.push_async_callback(close_store, store)
        worker = Worker(
            graphs,
            queue,
            events,
            worker_id=worker_id,
            max_runs=max_runs,
            run_timeout=run_timeout,
        )
        if tracer_provider is not None:
            worker.tracing = Tracing(tracer_provider)
        if metrics_address is not None:
            await tg.start(_serve_metrics, worker, saver, metrics_address)
        await tg.start(worker.run)
        tg.start_soon(reap_forever, queue)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                break
        await worker.stop(grace)
        tg.cancel_scope.cancel()


async def _serve_metrics(
    worker: Worker,
    saver: Any,
    address: tuple[str, int],
    *,
    task_status: Any = anyio.TASK_STATUS_IGNORED,
) -> None:
    """A worker process's ``/metrics`` (it has no HTTP API of its own)."""
    metrics = open_metrics()
    if metrics is None:
        raise ValueError(METRICS_MISSING)
    worker.metrics = metrics
    worker.queue.observe_latency(metrics.store_took)
    stop_timing = instrument_saver(saver, metrics.checkpoint_took)

    async def sample() -> RunStats:
        queued: float
        oldest: float
        try:
            queued, oldest = await worker.queue.pending_stats()
        except QueueError as exc:
            log.warning("metrics: the queue could not be read: %s", exc)
            queued, oldest = math.nan, math.nan
        return RunStats(len(worker.running), queued, oldest, 0, 0)

    try:
        await metrics.serve(*address, sample, task_status=task_status)
    finally:
        stop_timing()


async def reap_forever(queue: RunQueue) -> None:
    """Re-queue the runs whose lease expired, every half lease, riding out outages."""
    while True:
        try:
            reaped = await queue.reap()
        except QueueError as exc:
            log.warning("reaper: %s", exc)
        else:
            if reaped:
                log.warning("re-queued runs whose worker stopped heartbeating: %s", reaped)
        await anyio.sleep(queue.lease_seconds / 2)
