"""The run manager: every run of the server executes here, never in an HTTP handler.

Each run is a task in the manager's task group, inside its own cancel scope. HTTP
handlers only create runs, read their event logs, and ask for cancellation:

- A run's events go to its :class:`Live` log as ready-made SSE frames. A streaming
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
- :meth:`RunManager.shutdown` stops new runs, lets running ones finish within a grace
  period, cancels the rest, and returns when every run (and its cleanup) has ended.
"""

from __future__ import annotations

import ctypes
import gc
import math
import sys
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup

from .._types import Command, Send
from ..checkpoint._base import BaseCheckpointSaver, CheckpointTuple
from ._store import Documents
from ._wire import dumps, now_iso

__all__ = ("ApiError", "Live", "RunManager", "TERMINAL")

TERMINAL = frozenset({"success", "error", "timeout", "interrupted"})
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
)
"""The request fields a run record shows under ``kwargs``."""
CancelAction = Literal["interrupt", "rollback"]


class ApiError(Exception):
    """A request the server refuses: the HTTP status, an error name and a message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _frame(event: str, data: bytes, seq: int | str | None) -> bytes:
    parts = [b"event: ", event.encode(), b"\ndata: ", data, b"\n"]
    if seq is not None:
        parts += [b"id: ", str(seq).encode(), b"\n"]
    parts.append(b"\n")
    return b"".join(parts)


def _mode_of(frame: bytes) -> str:
    name = frame[7 : frame.index(b"\n")].decode()
    return name.partition("|")[0]


ALWAYS_SENT = frozenset({"metadata", "end", "error"})


class Live:
    """A run the manager knows in this process: its record, log and cancel scope."""

    def __init__(self, record: dict[str, Any], graph: Any, resumable: bool) -> None:
        self.record = record
        self.graph = graph
        self.resumable = resumable
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.cancel_action: CancelAction | None = None
        self.cancel_reason: str | None = None
        self.frames: list[bytes] = []
        self.first = 0  # the sequence number of frames[0]
        self.next = 0
        self.changed = anyio.Event()
        self.cursors: dict[int, int] = {}
        self.ended = False
        self.result: Any = None
        self.error: dict[str, str] | None = None
        self.before: CheckpointTuple | None = None  # the thread's head when the run began
        self.temporary = False
        """A stateless run (``/runs/...``): no thread, and its record is not stored."""
        self.stateless = False
        """Run without the checkpointer (a stateless run whose state is not kept)."""

    @property
    def run_id(self) -> str:
        return str(self.record["run_id"])

    def emit(self, event: str, data: Any) -> None:
        payload = data if isinstance(data, bytes) else dumps(data)
        seq = self.next
        self.next = seq + 1
        if self.resumable or self.cursors:
            self.frames.append(_frame(event, payload, seq if self.resumable else None))
            if not self.resumable and len(self.frames) > 64:
                self._trim()
        else:
            self.frames.clear()
            self.first = self.next
        self.wake()

    def wake(self) -> None:
        changed, self.changed = self.changed, anyio.Event()
        changed.set()

    def _trim(self) -> None:
        low = min(self.cursors.values(), default=self.next)
        if low > self.first:
            del self.frames[: low - self.first]
            self.first = low

    def lifecycle(self, event: str) -> None:
        self.record.setdefault("lifecycle", []).append({"event": event, "at": now_iso()})

    def subscribe(self, after: int | None) -> int:
        """A cursor: after ``after`` (a Last-Event-ID), else at the start of a new run
        (the creating request), else at the live end."""
        token = id(object())
        while token in self.cursors:
            token += 1
        if after is not None:
            cursor = after + 1
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
                    frames = [f for f in frames if _mode_of(f) in modes]
                if frames:
                    yield b"".join(frames)
                continue
            if self.ended:
                return
            await self.changed.wait()


def _malloc_trim() -> None:
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


async def restore_thread(
    saver: BaseCheckpointSaver, thread_id: str, keep: Sequence[CheckpointTuple]
) -> None:
    """Make ``keep`` (oldest first) the thread's whole history: delete the thread's
    checkpoints, then store those again, each with its task records."""
    await saver.adelete_thread(thread_id)
    expected: str | None = None
    for tup in keep:
        await saver.aput(thread_id, "", tup.checkpoint, expected_latest=expected)
        for task in tup.tasks:
            await saver.aput_task(thread_id, "", tup.checkpoint.id, task)
        expected = tup.checkpoint.id


def is_bridged(graph: Any) -> bool:
    """Whether ``graph`` is a LangGraph graph served through scopegraph.langgraph.bridge."""
    return bool(getattr(graph, "bridged", False))


def _command(spec: dict[str, Any]) -> Command[Any]:
    goto = spec.get("goto")
    if goto is not None:
        items = goto if isinstance(goto, list) else [goto]
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in items]
    return Command(update=spec.get("update"), resume=spec.get("resume"), goto=goto or ())


def run_arguments(
    graph: Any, payload: Mapping[str, Any], *, thread_id: str, metadata: Mapping[str, Any]
) -> tuple[Any, Any, dict[str, Any], list[str]]:
    """(input, config, options, stream modes) of a run, from its request body: the
    config selects the thread (and ``checkpoint_id``), ``command`` replaces the input,
    and ``"*"`` in ``interrupt_before/after`` means every node."""
    user_config = dict(payload.get("config") or {})
    configurable = {**(user_config.get("configurable") or {}), "thread_id": thread_id}
    checkpoint_id = payload.get("checkpoint_id") or (payload.get("checkpoint") or {}).get(
        "checkpoint_id"
    )
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    config: Any = {
        **user_config,
        "configurable": configurable,
        "metadata": {**(user_config.get("metadata") or {}), **metadata},
    }
    command = payload.get("command")
    graph_input: Any = _command(command) if command else payload.get("input")
    options: dict[str, Any] = {}
    if payload.get("context") is not None:
        options["context"] = payload["context"]
    for key in ("interrupt_before", "interrupt_after", "durability"):
        if payload.get(key) is not None:
            value = payload[key]
            options[key] = list(graph.nodes) if value == "*" else value
    modes = payload.get("stream_mode") or ["values"]
    modes = [modes] if isinstance(modes, str) else list(modes)
    return graph_input, config, options, modes


async def stream_run(
    graph: Any,
    graph_input: Any,
    config: Any,
    options: Mapping[str, Any],
    modes: Sequence[str],
    *,
    subgraphs: bool,
    emit: Callable[[str, Any], Awaitable[None]],
) -> Any:
    """Run the graph and ``emit(event, chunk)`` each chunk under its server event name
    (``<mode>`` or ``<mode>|<namespace>``; ``events`` for astream_events); return the
    final values. ``"messages-tuple"`` is the server's name of the in-process
    ``"messages"`` mode: its events are called ``messages``."""
    values: Any = None
    if "events" in modes:
        other = ["messages" if m == "messages-tuple" else m for m in modes if m != "events"]
        async with graph.open_event_stream(
            graph_input, config, stream_mode=other or ["values"], **options
        ) as events:
            async for event in events:
                await emit("events", event)
                if event["event"] == "on_chain_stream" and not event["parent_ids"]:
                    mode, chunk = event["data"]["chunk"]
                    if mode == "values":
                        values = chunk
                    if mode in other:
                        await emit(mode, chunk)
        return values
    wanted = {"messages" if m == "messages-tuple" else m for m in modes}
    async with graph.open_stream(
        graph_input,
        config,
        stream_mode=sorted(wanted | {"values"}),
        subgraphs=subgraphs,
        **options,
    ) as stream:
        async for item in stream:
            if subgraphs:
                ns, mode, chunk = item
            else:
                (mode, chunk), ns = item, ()
            if not ns and mode == "values":
                values = chunk
            if mode in wanted:
                await emit("|".join((mode, *ns)), chunk)
    return values


class RunManager:
    """Creates, runs, cancels and finishes runs; see the module docstring."""

    def __init__(
        self,
        graphs: dict[str, Any],
        checkpointer: BaseCheckpointSaver | None,
        docs: Documents,
        *,
        resumable_ttl: float = 300.0,
        run_timeout: float | None = None,
    ) -> None:
        self.graphs = graphs
        self.checkpointer = checkpointer
        self.docs = docs
        self.resumable_ttl = resumable_ttl
        self.run_timeout = run_timeout
        self.live: dict[str, Live] = {}
        self._tails: dict[str, Live] = {}
        self._tg: TaskGroup | None = None
        self.accepting = True
        self._trim_pending = False
        self._grace: anyio.CancelScope | None = None
        self.cleanups_finished = 0
        self.on_run_end: Callable[[Live], None] | None = None

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Host the runs until cancelled (the application's lifespan)."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            task_status.started()
            await anyio.sleep(math.inf)

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
    ) -> tuple[Live, int | None]:
        """A new run, started (or queued) in the manager's task group; with ``follow``, a
        cursor at its first event (the ``metadata`` event) for the creating request."""
        if not self.accepting or self._tg is None:
            raise ApiError(
                503, "ServiceUnavailable", "the server is shutting down and takes no new runs"
            )
        graph = self.graphs[graph_id]
        strategy = payload.get("multitask_strategy") or "enqueue"
        run_id = str(uuid.uuid4())
        thread = thread_id or str(uuid.uuid4())
        now = now_iso()
        kwargs = {k: payload.get(k) for k in RUN_KWARGS}
        record: dict[str, Any] = {
            "run_id": run_id,
            "thread_id": thread,
            "assistant_id": assistant_id,
            "created_at": now,
            "updated_at": now,
            "status": "pending",
            "metadata": payload.get("metadata") or {},
            "kwargs": kwargs,
            "multitask_strategy": strategy,
            "lifecycle": [],
        }
        previous = self._tails.get(thread)
        if previous is not None and previous.done.is_set():
            previous = None
        if previous is not None:
            if strategy == "reject":
                raise ApiError(
                    409,
                    "Conflict",
                    f"thread {thread} is busy with run {previous.run_id}; wait for it, or "
                    "pass multitask_strategy='enqueue', 'interrupt' or 'rollback'",
                )
            if strategy == "rollback" and is_bridged(graph):
                raise ApiError(
                    422,
                    "NotSupported",
                    "multitask_strategy='rollback' is not supported for a bridged LangGraph "
                    "graph; use 'interrupt', 'enqueue' or 'reject'",
                )
            if strategy in ("interrupt", "rollback"):
                for other in list(self.live.values()):
                    if other.record["thread_id"] == thread and not other.done.is_set():
                        action: CancelAction = "rollback" if strategy == "rollback" else "interrupt"
                        self.cancel(other, action, f"multitask_strategy={strategy}")
        live = Live(record, graph, resumable=bool(payload.get("stream_resumable")))
        token = live.subscribe(None) if follow else None
        live.emit("metadata", {"run_id": run_id, "attempt": 1})
        live.temporary = temporary
        self.live[run_id] = live
        self._tails[thread] = live
        if temporary:
            self.docs.runs[run_id] = record  # a stateless run is not stored
        else:
            await self.docs.save("run", record)
            await self._thread_status(thread, "busy", graph_id)
        self._tg.start_soon(self._execute, live, previous, graph_id, payload, temporary)
        return live, token

    async def _thread_status(self, thread_id: str, status: str, graph_id: str | None) -> None:
        thread = self.docs.threads.get(thread_id)
        now = now_iso()
        if thread is None:
            thread = {
                "thread_id": thread_id,
                "created_at": now,
                "metadata": {},
                "config": {},
                "values": None,
                "interrupts": {},
            }
        thread = {**thread, "status": status, "updated_at": now}
        if graph_id is not None:
            thread["metadata"] = {**thread.get("metadata", {}), "graph_id": graph_id}
        await self.docs.save("thread", thread)

    # -- running -------------------------------------------------------------------------

    async def _execute(
        self,
        live: Live,
        previous: Live | None,
        graph_id: str,
        payload: dict[str, Any],
        temporary: bool,
    ) -> None:
        record = live.record
        status = "success"
        with live.scope:
            if previous is not None:
                await previous.done.wait()
            record["status"] = "running"
            record["updated_at"] = now_iso()
            live.lifecycle("run started")
            timeout = payload.get("timeout") or self.run_timeout
            if timeout:
                live.scope.deadline = anyio.current_time() + float(timeout)
            if not live.temporary:
                await self.docs.save("run", record)
            try:
                await self._stream(live, graph_id, payload)
            except Exception as exc:
                status = "error"
                live.error = {"error": type(exc).__name__, "message": str(exc)}
        with anyio.CancelScope(shield=True):
            if live.scope.cancelled_caught or live.cancel_action is not None:
                status = "interrupted"
                if live.cancel_action is None:  # the scope's deadline passed
                    status = "timeout"
                    live.cancel_reason = "timeout"
                    live.lifecycle("timed out")
                live.lifecycle("cleanup finished")
                self.cleanups_finished += 1
            await self._finish(live, status, graph_id, temporary)

    async def _stream(self, live: Live, graph_id: str, payload: dict[str, Any]) -> None:
        graph = live.graph
        record = live.record
        thread_id = record["thread_id"]
        graph_input, config, options, modes = run_arguments(
            graph,
            payload,
            thread_id=thread_id,
            metadata={
                **record["metadata"],
                "run_id": record["run_id"],
                "thread_id": thread_id,
                "graph_id": graph_id,
                "assistant_id": record["assistant_id"],
            },
        )
        saver = self.checkpointer
        keep = record["kwargs"].get("on_completion") == "keep"
        shows_checkpoints = "checkpoints" in modes or "debug" in modes
        if live.temporary and not keep and not shows_checkpoints and not is_bridged(graph):
            options["checkpointer"] = None  # a stateless run: nothing to keep
            live.stateless = True
        if saver is not None and not is_bridged(graph) and not live.stateless:
            live.before = await saver.aget_tuple(thread_id, "")

        async def emit(event: str, chunk: Any) -> None:
            live.emit(event, chunk)

        live.result = await stream_run(
            graph,
            graph_input,
            config,
            options,
            modes,
            subgraphs=bool(payload.get("stream_subgraphs")),
            emit=emit,
        )

    async def _finish(self, live: Live, status: str, graph_id: str, temporary: bool) -> None:
        record = live.record
        thread_id = record["thread_id"]
        saver = self.checkpointer
        head: CheckpointTuple | None = None
        bridged = is_bridged(live.graph)
        if bridged:  # a LangGraph graph: its own checkpointer
            snapshot = await live.graph.aget_state({"configurable": {"thread_id": thread_id}})
            if status in ("interrupted", "timeout") and snapshot.created_at is not None:
                live.lifecycle("checkpoint saved")
                record["checkpoint_id"] = snapshot.config["configurable"]["checkpoint_id"]
            if temporary and record["kwargs"].get("on_completion", "delete") != "keep":
                await live.graph.checkpointer.adelete_thread(thread_id)
        elif saver is not None and not live.stateless:
            head = await saver.aget_tuple(thread_id, "")
            if status in ("interrupted", "timeout") and head is not None:
                live.lifecycle("checkpoint saved")
                record["checkpoint_id"] = head.checkpoint.id
            if live.cancel_action == "rollback":
                await self._rollback(saver, live, thread_id)
                live.lifecycle("rolled back")
            elif temporary and record["kwargs"].get("on_completion", "delete") != "keep":
                await saver.adelete_thread(thread_id)
        record["status"] = status
        record["updated_at"] = now_iso()
        if live.cancel_reason:
            record["cancel_reason"] = live.cancel_reason
        if live.cancel_action == "rollback":
            await self.docs.delete("run", live.run_id)
        elif temporary:
            self.docs.runs[live.run_id] = record  # a stateless run is not stored
        else:
            await self.docs.save("run", record)
        if not temporary:
            thread_status = "idle"
            if status == "error":
                thread_status = "error"
            elif (saver is not None or bridged) and live.cancel_action != "rollback":
                snapshot = await live.graph.aget_state({"configurable": {"thread_id": thread_id}})
                if snapshot.next or snapshot.interrupts:
                    thread_status = "interrupted"
            await self._thread_status(thread_id, thread_status, graph_id)
        if live.error is not None:
            live.emit("error", live.error)
        elif status == "timeout":
            live.emit(
                "error",
                {
                    "error": "RunTimeout",
                    "message": "the run took longer than its timeout: it was cancelled, its "
                    "cleanup finished and its checkpoint is saved",
                },
            )
        elif live.cancel_reason == "shutdown":
            live.emit(
                "error",
                {
                    "error": "ServerShuttingDown",
                    "message": "the server is shutting down: the run was cancelled, its "
                    "cleanup finished and its checkpoint is saved; resume it with "
                    "input=None on the same thread",
                },
            )
        else:
            live.emit("end", None)
        live.ended = True
        live.wake()
        if self._tails.get(thread_id) is live:
            del self._tails[thread_id]
        live.done.set()
        if self.on_run_end is not None:
            self.on_run_end(live)
        if self._tg is not None:
            self._tg.start_soon(self._forget, live)
            if not self._trim_pending and not any(
                not other.done.is_set() for other in self.live.values()
            ):
                self._trim_pending = True
                self._tg.start_soon(self._give_memory_back)

    async def _rollback(self, saver: BaseCheckpointSaver, live: Live, thread_id: str) -> None:
        """Put the thread back as it was before the run: its checkpoints are deleted."""
        keep: list[CheckpointTuple] = []
        if live.before is not None:
            keep = [
                t
                for t in await saver.alist(thread_id, "", before=None)
                if t.checkpoint.step <= live.before.checkpoint.step
            ]
            keep = keep[::-1]  # oldest first
            ids = {t.checkpoint.id for t in keep}
            if live.before.checkpoint.id not in ids:
                keep = []
        await restore_thread(saver, thread_id, keep)

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
        if live.temporary:
            self.docs.runs.pop(live.run_id, None)

    # -- cancelling ----------------------------------------------------------------------

    def cancel(self, live: Live, action: CancelAction, reason: str) -> None:
        if live.done.is_set():
            return
        if action == "rollback" and is_bridged(live.graph):
            raise ApiError(
                422,
                "NotSupported",
                "rollback is not supported for a bridged LangGraph graph (its checkpointer "
                "cannot delete one run's checkpoints); use action='interrupt'",
            )
        if live.cancel_action is None or action == "rollback":
            live.cancel_action = action
        live.cancel_reason = live.cancel_reason or reason
        live.lifecycle(f"cancel requested ({reason})")
        live.scope.cancel()

    def hurry(self) -> None:
        """End the shutdown's grace period now."""
        if self._grace is not None:
            self._grace.cancel()

    async def shutdown(self, grace: float) -> None:
        """Stop taking runs; give running ones ``grace`` seconds, then cancel them; return
        when every run has ended, its cleanup finished and its checkpoint is stored."""
        self.accepting = False
        running = [live for live in self.live.values() if not live.done.is_set()]
        with anyio.move_on_after(grace) as self._grace:
            for live in running:
                await live.done.wait()
        for live in running:
            self.cancel(live, "interrupt", "shutdown")
        with anyio.CancelScope(shield=True):
            for live in running:
                await live.done.wait()
