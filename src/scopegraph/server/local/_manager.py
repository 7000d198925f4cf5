"""The run manager: every run of the server executes here, never in an HTTP handler.

Each run is a task in the manager's task group, inside its own cancel scope. HTTP
handlers only create runs, read their event logs, and ask for cancellation:

- A run's events go to its :class:`EventLog` as ready-made SSE frames. A streaming
  response follows the log from a cursor; a client that reconnects with
  ``Last-Event-ID`` continues from there (resumable runs keep their whole log for
  ``resumable_ttl`` seconds after they end; other runs keep only what a connected client
  has not read yet, and nothing when nobody listens).
- Cancelling a run (a cancel request, a disconnect under ``on_disconnect="cancel"``, the
  ``interrupt``/``rollback`` multitask strategies, shutdown) cancels its scope. The run's
  ``open_stream`` block then waits for every node's shielded cleanup, the last completed
  step's checkpoint and pending writes are already stored, and only then does the run
  record its status (``interrupted``) and end its log. :attr:`Live.done` is set last.
- Runs on one thread are serialized: a new run waits for the thread's previous one
  (``enqueue``), cancels it first (``interrupt``, ``rollback``), or is refused
  (``reject``).
- A run executes through :mod:`scopegraph.server._executor` (status, timeout,
  lifecycle, final values, rollback), the same code the scale-out worker runs.
- :meth:`RunManager.shutdown` stops new runs, lets running ones finish within a grace
  period, cancels the rest, and returns when every run (and its cleanup) has ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import math
import sys
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .. import _executor as executor
from .. import _webhook as webhook
from .._domain import RUN_KWARGS, CancelAction
from .._errors import ConflictError, InvalidRequestError, UnavailableError
from .._graphs import is_bridged
from .._logs import bind_run
from .._metrics import Metrics, RunStats
from .._store import Documents
from .._tracing import Tracing
from .._wire import dumps, frame_event, now_iso, sse_frame
from ._delayed import Delayed, DelayedRuns, seconds_until, starts_at

__all__ = ("EventLog", "Live", "RunManager")

log = logging.getLogger("scopegraph.server")


class EventLog:
    """A run's events as ready-made SSE frames, and the cursors of the clients that
    follow them.

    A resumable run's log keeps every frame (each with its ``id``) until the run is
    forgotten; another run's keeps only the frames a connected client has not read yet,
    and nothing while nobody follows it."""

    def __init__(self, resumable: bool) -> None:
        self.resumable = resumable
        self.frames: list[bytes] = []
        self.first = 0  # the sequence number of frames[0]
        self.next = 0
        self.changed = anyio.Event()
        self.cursors: dict[int, int] = {}
        self.ended = False

    def emit(self, event: str, data: Any) -> None:
        payload = data if isinstance(data, bytes) else dumps(data)
        seq = self.next
        self.next = seq + 1
        if self.resumable or self.cursors:
            self.frames.append(sse_frame(event, payload, seq if self.resumable else None))
            if not self.resumable and len(self.frames) > 64:
                self._trim()
        else:
            self.frames.clear()
            self.first = self.next
        self._wake()

    def end(self, event: str, data: Any) -> None:
        """The run's last event: followers return after it. A run that ended without an
        error sends no frame for it: its streams close, as LangGraph's server closes them
        (the SDKs then ask the run's status); an ``error`` event is sent."""
        if event != "end":
            self.emit(event, data)
        self.ended = True
        self._wake()

    def _wake(self) -> None:
        changed, self.changed = self.changed, anyio.Event()
        changed.set()

    def _trim(self) -> None:
        low = min(self.cursors.values(), default=self.next)
        if low > self.first:
            del self.frames[: low - self.first]
            self.first = low

    def subscribe(self, after: int | None) -> int:
        """A cursor: after ``after`` (a Last-Event-ID), else at the start of a new run
        (the creating request), else at the live end."""
        token = id(object())
        while token in self.cursors:
            token += 1
        if after is not None:
            # A cursor past the end of the log is clamped to its end: it never moves the
            # trim point past frames other followers have not read yet (nor past frames
            # not emitted yet).
            cursor = min(after + 1, self.next)
        elif self.next == 0 or (self.resumable and self.first == 0 and not self.ended):
            cursor = self.first
        else:
            cursor = self.next
        self.cursors[token] = max(cursor, self.first)
        return token

    def unsubscribe(self, token: int) -> None:
        self.cursors.pop(token, None)
        if not self.resumable:
            if self.cursors:
                self._trim()
            else:
                self.frames.clear()
                self.first = self.next

    async def follow(
        self, token: int, modes: frozenset[str] | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Every frame from the cursor on, batched; ends after the run's last frame.

        ``modes``: only the events of these stream modes (plus metadata, end and error).
        """
        while True:
            cursor = max(self.cursors[token], self.first)
            if cursor < self.next:
                frames = self.frames[cursor - self.first :]
                self.cursors[token] = self.next
                if modes is not None:
                    frames = [f for f in frames if frame_event(f) in modes]
                if frames:
                    yield b"".join(frames)
                continue
            if self.ended:
                return
            await self.changed.wait()


class Live:
    """A run the manager knows in this process: its record, its cancel scope and its
    :class:`EventLog`."""

    def __init__(self, record: dict[str, Any], graph: Any, resumable: bool) -> None:
        self.record = record
        self.graph = graph
        self.log = EventLog(resumable)
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.cancel_action: CancelAction | None = None
        self.cancel_reason: str | None = None
        self.final: Any = None
        """The run's final values (what ``join`` and ``wait`` return), once it is done."""
        self.temporary = False
        """A stateless run (``/runs/...``): no thread, and its record is not stored."""
        self.started_at: str | None = None
        self.created = anyio.current_time()
        self.cancelled_at: float | None = None
        """When its cancellation was first requested (the cleanup duration's start)."""
        self.trace_parent: Any = None
        """The trace context of the request that created it (with tracing on)."""
        self.starts_at: str | None = None
        """A stored run created with ``after_seconds``: when it starts (its row in the
        delayed-runs table goes when it starts or ends)."""
        self.started = False
        self.released = False
        """Left stored at shutdown before it started: made again after the restart."""

    @property
    def run_id(self) -> str:
        return str(self.record["run_id"])

    @property
    def resumable(self) -> bool:
        return self.log.resumable

    @property
    def frames(self) -> list[bytes]:
        """The frames its log still holds."""
        return self.log.frames

    def lifecycle(self, event: str) -> None:
        self.record.setdefault("lifecycle", []).append({"event": event, "at": now_iso()})


def _malloc_trim() -> None:
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


class RunManager:
    """Creates, runs, cancels and finishes runs; see the module docstring."""

    def __init__(
        self,
        graphs: dict[str, Any],
        docs: Documents,
        *,
        resumable_ttl: float = 300.0,
        run_timeout: float | None = None,
    ) -> None:
        self.graphs = graphs
        self.docs = docs
        self.delayed = DelayedRuns(docs)
        self.resumable_ttl = resumable_ttl
        self.run_timeout = run_timeout
        self.live: dict[str, Live] = {}
        self.deleting: set[str] = set()
        """Threads being deleted: they take no new run."""
        self._active: dict[str, list[Live]] = {}
        """Per thread, its runs that have not ended (running or queued), oldest first."""
        self._tg: TaskGroup | None = None
        self.accepting = True
        self._trim_pending = False
        self._grace: anyio.CancelScope | None = None
        self.cleanups_finished = 0
        self.on_run_end: Callable[[Live], None] | None = None
        self.metrics: Metrics | None = None
        self.tracing: Tracing | None = None

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Host the runs until cancelled (the application's lifespan)."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            task_status.started()
            await anyio.sleep(math.inf)

    def unfinished(self, thread_id: str) -> list[Live]:
        """The thread's runs that have not ended (running or queued), oldest first."""
        return list(self._active.get(thread_id, ()))

    def running_record(self, run_id: str) -> dict[str, Any] | None:
        """The record of a run that has not ended (ahead of its stored one), or None."""
        live = self.live.get(run_id)
        return None if live is None or live.done.is_set() else live.record

    def busy(self, thread_id: str) -> bool:
        """Whether a run of this thread is running or queued."""
        return bool(self._active.get(thread_id))

    # -- creating ------------------------------------------------------------------------

    async def create(
        self,
        *,
        graph_id: str,
        assistant_id: str,
        thread_id: str | None,
        payload: dict[str, Any],
        temporary: bool,
        follow: bool = False,
        restored: Delayed | None = None,
    ) -> tuple[Live, int | None]:
        """A new run, started (or queued) in the manager's task group; with ``follow``, a
        cursor at its first event (the ``metadata`` event) for the creating request.
        ``restored``: a delayed run stored before a restart, made again (its record is
        the stored one)."""
        if not self.accepting or self._tg is None:
            raise UnavailableError("the server is shutting down and takes no new runs")
        if thread_id is not None and thread_id in self.deleting:
            raise ConflictError(
                f"thread {thread_id} is being deleted and takes no new runs; create a new thread"
            )
        graph = self.graphs[graph_id]
        strategy = payload.get("multitask_strategy") or "enqueue"
        thread = thread_id or str(uuid.uuid4())
        previous = self._make_room(thread, graph, strategy)
        if restored is not None:
            stored = await self.docs.get("run", restored.run_id)
            record = stored or _new_record(thread, assistant_id, payload, strategy)
        else:
            record = _new_record(thread, assistant_id, payload, strategy)
        live = Live(record, graph, resumable=bool(payload.get("stream_resumable")))
        if restored is not None:
            live.starts_at = restored.starts_at
        elif payload.get("after_seconds") and not temporary:
            live.starts_at = starts_at(float(payload["after_seconds"]))
        token = live.log.subscribe(None) if follow else None
        live.log.emit("metadata", {"run_id": live.run_id, "attempt": 1})
        live.temporary = temporary
        if self.tracing is not None:
            live.trace_parent = self.tracing.request_parent()
        # Registered at once (a concurrent create on the thread sees it), but it counts
        # only once its record is stored: create is all-or-nothing.
        self.live[live.run_id] = live
        self._active.setdefault(thread, []).append(live)
        if not temporary:  # a stateless run is not stored
            try:
                await self.docs.save("run", record)
                try:
                    await self._thread_status(thread, "busy", graph_id, assistant_id=assistant_id)
                    if live.starts_at is not None and restored is None:
                        await self.delayed.add(
                            Delayed(
                                live.run_id, live.starts_at, graph_id, assistant_id, thread, payload
                            )
                        )
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await self._forget_record(live.run_id)
                    raise
            except BaseException:
                self._withdraw(live, thread)
                raise
        if strategy in ("interrupt", "rollback"):  # only now that the new run exists
            action: CancelAction = "rollback" if strategy == "rollback" else "interrupt"
            for other in previous:
                self.cancel(other, action, f"multitask_strategy={strategy}")
        spec = executor.RunSpec(
            run_id=live.run_id,
            thread_id=thread,
            graph_id=graph_id,
            assistant_id=assistant_id,
            graph=graph,
            payload=payload,
            temporary=temporary,
            stateless=_stateless(graph, payload, temporary),
        )
        self._tg.start_soon(self._execute, live, previous, spec)
        return live, token

    def _make_room(self, thread: str, graph: Any, strategy: str) -> list[Live]:
        """Check the multitask strategy on a busy thread (``reject`` refuses; ``interrupt``
        and ``rollback`` cancel them once the new run is stored); the runs to wait for: every
        run of the thread that has not ended (a queued run cancelled before its turn ends
        at once, while the run executing before it may still be running)."""
        previous = [live for live in self._active.get(thread, ()) if not live.done.is_set()]
        if not previous:
            return []
        if strategy == "reject":
            raise ConflictError(
                f"thread {thread} is busy with run {previous[-1].run_id}; wait for it, or "
                "pass multitask_strategy='enqueue', 'interrupt' or 'rollback'"
            )
        if strategy == "rollback" and is_bridged(graph):
            raise InvalidRequestError(
                "multitask_strategy='rollback' is not supported for a bridged LangGraph "
                "graph; use 'interrupt', 'enqueue' or 'reject'",
                code="NotSupported",
            )
        return previous

    def _unregister(self, live: Live, thread: str) -> None:
        """Take a run that will not run here out of the live runs and its thread's queue."""
        self.live.pop(live.run_id, None)
        active = self._active.get(thread, [])
        if live in active:
            active.remove(live)
        if not active:
            self._active.pop(thread, None)

    def _withdraw(self, live: Live, thread: str) -> None:
        """Undo the registration of a run whose creation failed: it never existed, and
        nothing waits for it (a later run of the thread, ``join``, shutdown)."""
        self._unregister(live, thread)
        live.log.end("error", {"error": "RunNotCreated", "message": "the run was not created"})
        live.done.set()

    async def _forget_record(self, run_id: str) -> None:
        """Delete a run record whose creation failed half-way (best effort: the store
        that just failed may fail again; the record then stays ``pending``)."""
        with contextlib.suppress(Exception):
            await self.docs.delete("run", run_id)

    async def _thread_status(
        self,
        thread_id: str,
        status: str,
        graph_id: str | None,
        *,
        assistant_id: str | None = None,
        ended: bool = False,
        error: dict[str, str] | None = None,
    ) -> None:
        """Store the thread's status (and, as LangGraph, the graph and assistant of its
        runs in its metadata); with ``ended`` (its last run ended, with ``error`` if it
        failed), a failed write is kept and stored once the database takes writes again
        (:meth:`Documents.keep`)."""

        def changed(thread: dict[str, Any]) -> dict[str, Any]:
            now = now_iso()
            thread = {**thread, "status": status, "updated_at": now}
            if ended:
                thread["state_updated_at"] = now
                thread["error"] = error
            if graph_id is not None:
                thread["metadata"] = {**thread.get("metadata", {}), "graph_id": graph_id}
            if assistant_id is not None:
                thread["metadata"] = {**thread.get("metadata", {}), "assistant_id": assistant_id}
            return thread

        # One atomic change (not a read, then a write of the whole thread): a PATCH of
        # the thread's metadata while its run ends is kept. A deleted thread stays
        # deleted: a run's end never brings a thread back.
        try:
            await self.docs.update("thread", thread_id, changed)
        except Exception:
            if not ended:
                raise
            stored = await self._stored_thread(thread_id)
            if stored is not None:
                self.docs.keep("thread", changed(stored))
            raise

    async def _stored_thread(self, thread_id: str) -> dict[str, Any] | None:
        """The thread as last read, for :meth:`Documents.keep` after a failed write
        (None if it cannot be read either, or is gone)."""
        try:
            return await self.docs.get("thread", thread_id)
        except Exception:
            return None

    # -- running -------------------------------------------------------------------------

    async def _execute(self, live: Live, previous: list[Live], spec: executor.RunSpec) -> None:
        """Run, settle and finish one run. Nothing escapes: a failure of the graph, of the
        store or of settling ends this run ``error`` and leaves every other run alone."""
        record = live.record
        failure: BaseException | None = None
        values: Any = None
        started = False
        trace = None
        bind_run(live.run_id, None if live.temporary else spec.thread_id)
        with live.scope:
            if live.starts_at is not None:
                await anyio.sleep(seconds_until(live.starts_at))
            elif spec.payload.get("after_seconds"):  # a stateless run: in memory only
                await anyio.sleep(float(spec.payload["after_seconds"]))
            for earlier in previous:
                await earlier.done.wait()
            started = live.started = True
            record["status"] = "running"
            record["updated_at"] = live.started_at = now_iso()
            live.lifecycle("run started")
            executor.start_clock(live.scope, spec, self.run_timeout)
            if self.tracing is not None:
                trace = self.tracing.start_run(
                    run_id=live.run_id,
                    thread_id=spec.thread_id,
                    graph_id=spec.graph_id,
                    attempt=1,
                    worker=None,
                    parent=live.trace_parent,
                )

            async def emit(event: str, chunk: Any) -> None:
                live.log.emit(event, chunk)

            try:
                if not live.temporary:
                    await self.docs.save("run", record)
                if live.starts_at is not None:  # started: not made again after a restart
                    await self.delayed.remove(live.run_id)
                values = await executor.stream(spec, emit, None if trace is None else trace.task)
            except Exception as exc:
                failure = exc
        if live.released and not started:
            self._release(live, spec.thread_id)
            return
        cleanup = executor.cleanup_seconds(live.scope, live.cancelled_at)
        if cleanup is not None and started and self.metrics is not None:
            self.metrics.cleanup_took(cleanup)
        with anyio.CancelScope(shield=True):
            try:
                outcome = await executor.settle(
                    spec,
                    live.scope,
                    failure=failure,
                    values=values,
                    action=live.cancel_action,
                    reason=live.cancel_reason,
                    started=started,
                )
            except Exception as exc:  # the checkpointer failed while settling
                log.exception("run %s: settling it failed", live.run_id)
                outcome = executor.failed(exc)
            if live.scope.cancel_called:
                self.cleanups_finished += 1
            if outcome.status == "timeout":
                live.cancel_reason = "timeout"
            await self._finish(live, spec, outcome)
            if trace is not None:
                trace.end(outcome.status, cleanup_seconds=cleanup, error=outcome.error)

    async def _finish(self, live: Live, spec: executor.RunSpec, outcome: executor.Outcome) -> None:
        """Record the run's end, then end its log; :attr:`Live.done` is set last."""
        record = live.record
        for entry in outcome.lifecycle:
            live.lifecycle(entry)
        if outcome.checkpoint_id is not None:
            record["checkpoint_id"] = outcome.checkpoint_id
        record["status"] = outcome.status
        record["updated_at"] = now_iso()
        if live.cancel_reason:
            record["cancel_reason"] = live.cancel_reason
        live.final = outcome.final
        try:
            if live.starts_at is not None and not live.started:  # cancelled while waiting
                await self.delayed.remove(live.run_id)
            if outcome.rolled_back:
                await self.docs.delete("run", live.run_id)
            elif not spec.temporary:  # a stateless run is not stored
                await self.docs.save("run", record)
        except Exception as exc:
            self._unstored(live, outcome, exc)
        if self.metrics is not None:
            self.metrics.run_ended(outcome.status)
        active = self._active.get(spec.thread_id, [])
        others = any(other is not live for other in active)
        if not spec.temporary and not others:  # else the thread stays busy with the others
            thread_status = "idle"
            if outcome.status == "error":
                thread_status = "error"
            elif outcome.interrupted:
                thread_status = "interrupted"
            try:
                await self._thread_status(
                    spec.thread_id,
                    thread_status,
                    spec.graph_id,
                    ended=True,
                    error=outcome.error if outcome.status == "error" else None,
                )
            except Exception as exc:
                log.error("run %s: its thread's status could not be stored: %s", live.run_id, exc)
        live.log.end(*outcome.event)
        if live in active:
            active.remove(live)
        if not active:
            self._active.pop(spec.thread_id, None)
        live.done.set()
        if self.on_run_end is not None:
            self.on_run_end(live)
        url = spec.payload.get("webhook")
        if url and self._tg is not None:  # after the run's end: it never delays it
            body = webhook.payload(
                dict(record),
                status=outcome.status,
                started_at=live.started_at,
                ended_at=record["updated_at"],
                final=live.final,
            )
            self._tg.start_soon(webhook.deliver, url, body)
        if self._tg is not None:
            self._tg.start_soon(self._forget, live)
            if not self._trim_pending and not any(
                not other.done.is_set() for other in self.live.values()
            ):
                self._trim_pending = True
                self._tg.start_soon(self._give_memory_back)

    def _unstored(self, live: Live, outcome: executor.Outcome, exc: Exception) -> None:
        """The run's end could not be stored: the run ends ``error`` with that reason (in
        memory now, in the database once it takes writes again); the server goes on."""
        log.error("run %s: its end could not be stored: %s", live.run_id, exc)
        if outcome.status != "error":
            error = executor.unstored_error()
            outcome.status = "error"
            outcome.event = ("error", error)
            live.final = {"__error__": error}
            live.record["status"] = "error"
        if not outcome.rolled_back and not live.temporary:
            self.docs.keep("run", live.record)

    async def _give_memory_back(self) -> None:
        """Once no run has been running for a moment, collect garbage and hand the
        allocator's free memory back to the system (glibc's ``malloc_trim``), so that
        the server's RSS falls back after a burst of runs instead of staying at its peak."""
        try:
            await anyio.sleep(0.25)
            if any(not live.done.is_set() for live in self.live.values()):
                return
            gc.collect()
            _malloc_trim()
        finally:
            self._trim_pending = False

    async def _forget(self, live: Live) -> None:
        """Drop a finished run's log: at once, or after ``resumable_ttl`` if resumable."""
        if live.resumable:
            await anyio.sleep(self.resumable_ttl)
        self.live.pop(live.run_id, None)

    # -- cancelling ----------------------------------------------------------------------

    def cancel(self, live: Live, action: CancelAction, reason: str) -> None:
        if live.done.is_set():
            return
        if action == "rollback" and is_bridged(live.graph):
            raise InvalidRequestError(
                "rollback is not supported for a bridged LangGraph graph (its checkpointer "
                "cannot delete one run's checkpoints); use action='interrupt'",
                code="NotSupported",
            )
        # A repeated request changes nothing and is not recorded again (the record does
        # not grow with requests); a rollback request overrides an interrupt request.
        escalates = action == "rollback" and live.cancel_action != "rollback"
        if live.cancelled_at is None:
            live.cancelled_at = anyio.current_time()
        if live.cancel_action is None or escalates:
            live.cancel_action = action
            live.lifecycle(f"cancel requested ({reason})")
        live.cancel_reason = live.cancel_reason or reason
        live.scope.cancel()

    def stats(self) -> RunStats:
        """Active and queued runs, stream followers and their lag, in this process."""
        now = anyio.current_time()
        active = queued = followers = lag = 0
        oldest = now
        for live in self.live.values():
            log = live.log
            followers += len(log.cursors)
            lag += sum(log.next - cursor for cursor in log.cursors.values())
            if live.done.is_set():
                continue
            if live.record.get("status") == "pending":
                queued += 1
                oldest = min(oldest, live.created)
            else:
                active += 1
        return RunStats(active, queued, now - oldest, followers, lag)

    def hurry(self) -> None:
        """End the shutdown's grace period now."""
        if self._grace is not None:
            self._grace.cancel()

    def _release(self, live: Live, thread: str) -> None:
        """Forget a stored delayed run that has not started, at shutdown: its record
        stays ``pending`` and its row stays, so that it is made again after the restart."""
        self._unregister(live, thread)
        live.log.end(
            "error",
            {
                "error": "ServerShutdown",
                "message": "the server shut down before the run's start; it starts after "
                "the restart",
            },
        )
        live.done.set()

    async def shutdown(self, grace: float) -> None:
        """Stop taking runs; give running ones ``grace`` seconds, then cancel them; return
        when every run has ended, its cleanup finished and its checkpoint is stored. A
        delayed run that has not started is kept for the restart (:meth:`_release`)."""
        self.accepting = False
        for live in list(self.live.values()):
            if live.starts_at is not None and not live.started and not live.done.is_set():
                live.released = True  # unless it starts meanwhile: then cancelled
                self.cancel(live, "interrupt", "shutdown")
        running = [live for live in self.live.values() if not live.done.is_set()]
        with anyio.move_on_after(grace) as self._grace:
            for live in running:
                await live.done.wait()
        for live in running:
            self.cancel(live, "interrupt", "shutdown")
        with anyio.CancelScope(shield=True):
            for live in running:
                await live.done.wait()


def _new_record(
    thread_id: str, assistant_id: str, payload: dict[str, Any], strategy: str
) -> dict[str, Any]:
    now = now_iso()
    return {
        "run_id": str(uuid.uuid4()),
        "thread_id": thread_id,
        "assistant_id": assistant_id,
        "created_at": now,
        "updated_at": now,
        "status": "pending",
        "metadata": payload.get("metadata") or {},
        "kwargs": {k: payload.get(k) for k in RUN_KWARGS},
        "multitask_strategy": strategy,
        "lifecycle": [],
    }


def _stateless(graph: Any, payload: dict[str, Any], temporary: bool) -> bool:
    """A stateless run whose state nobody can see: run it without the checkpointer."""
    modes = payload.get("stream_mode") or ()
    shows_checkpoints = "checkpoints" in modes or "debug" in modes
    keep = payload.get("on_completion") == "keep"
    return temporary and not keep and not shows_checkpoints and not is_bridged(graph)
