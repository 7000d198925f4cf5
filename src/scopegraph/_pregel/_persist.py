"""Persistence of one run: load or fork the thread, resume it, record each task's outcome,
write a checkpoint after each step, and make every write durable before the run returns.

Durability (``RunOptions.durability``): ``"sync"`` writes each checkpoint before the next
step; ``"async"`` writes it in a background task of the run while the next step runs
(writes stay in order, and the run waits for the last one before it returns); ``"exit"``
keeps only the newest checkpoint and writes it when the run stops, however it stops.

Subgraphs (LangGraph's model): a subgraph's run inside a run with a checkpointer keeps
its own checkpoints in the same saver and thread, under its namespace (``node:task_id``,
nested with ``|``; ``node`` alone for a ``checkpointer=True`` subgraph, whose history
outlives one call). Its interrupted node is its own to resume: when the parent's node
runs again, the subgraph resumes from its newest checkpoint (:meth:`_subgraph_base`).
Each checkpoint's metadata ``parents`` names the checkpoint every enclosing run was at,
which is how time travel finds its way: a run given a subgraph's checkpoint replays its
root's checkpoint, and each subgraph on the way replays its own (``targets``); a run
given an older checkpoint makes ``checkpointer=True`` subgraphs load their state as of
then (``lineage``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import anyio
import anyio.abc

from .._constants import START
from .._errors import NodeError
from .._ids import new_id
from .._run import run_step
from .._types import Command, Send
from ..checkpoint._base import (
    Checkpoint,
    CheckpointNotFoundError,
    CheckpointTuple,
    TaskRecord,
    TaskStatus,
    describe_checkpoint,
    langgraph_put_args,
    not_found_error,
    overrides_langgraph_aput,
)
from . import _algo, _emit
from ._context import PersistOptions, RunView
from ._task import Task, task_id

__all__ = ("RESUME_UPDATE", "PersistedRun", "Persistence", "ns_path")

RESUME_UPDATE = "__resume_update__"
"""The name of the record that keeps a resume command's ``update`` with its checkpoint."""


def ns_path(ns: str) -> str:
    """A checkpoint namespace without its task ids: ``"a:1f|b:2e|1"`` -> ``"a|b|1"``."""
    return "|".join(part.split(":")[0] for part in ns.split("|"))


def _persistence_of(run: RunView) -> Persistence | None:
    found = getattr(run, "persistence", None)
    return found if isinstance(found, Persistence) else None


class PersistedRun(RunView, Protocol):
    """What persistence needs of its run besides :class:`RunView` (``_loop.Run``)."""

    barriers: dict[int, set[str]]
    resuming: bool

    def apply(self, writes: Any, writer: str, written: dict[str, str] | None = None) -> bool: ...

    async def plan_start(self, routes: Sequence[str | Send] = ()) -> list[Task]: ...


class Persistence:
    """The checkpoint side of one run (only a root run with a checkpointer has one)."""

    def __init__(self, run: PersistedRun, persist: PersistOptions) -> None:
        self.run = run
        self.saver = persist.saver
        self.thread_id = persist.thread_id
        self.ns = run.opts.checkpoint_ns
        self.durability = persist.durability
        self.checkpoint_id: str | None = None
        """The newest checkpoint of this run (or the one it resumed from)."""
        self.expected_latest: str | None = None
        """The thread's head as this run last saw it (each write checks it is still so)."""
        self.background: anyio.abc.TaskGroup | None = None
        """Where durability "async" writes run (set by the loop for the run's length)."""
        self.step_size = 0
        self._last_put: anyio.Event | None = None
        self._put_failed = False
        """A background (durability "async") write failed: later ones are skipped."""
        self._unsaved: Checkpoint | None = None
        self._unsaved_records: list[TaskRecord] = []
        self._loaded_parent: str | None = None
        """The parent of the checkpoint the run started from: what LangGraph's ``checkpoints``
        events show as ``parent_config`` while durability "exit" saves nothing."""
        self.root: Persistence = self
        """The persistence of the root run (a subgraph's run has its parent's root)."""
        self.parents: dict[str, str] = {}
        """The checkpoint each enclosing run was at, by namespace (``""``: the root),
        stored in checkpoint metadata as LangGraph's ``parents``."""
        self.targets: dict[str, tuple[str, str]] = {}
        """Root run, time travel to a subgraph's checkpoint: the ``(namespace, id)``
        each subgraph on the way replays, by namespace path (without task ids)."""
        self.records: dict[str, TaskRecord] = {}
        """The task records of the checkpoint this run resumed: where the functional
        API's task calls find the results they had before (:mod:`scopegraph._func`)."""
        self.lineage: set[str] | None = None
        """Root run replaying an older checkpoint: the checkpoints before it, and the
        ones this run wrote (what ``checkpointer=True`` subgraphs load their state as
        of); None when the run goes on from the thread's newest checkpoint."""

    @property
    def writes_in_background(self) -> bool:
        return self.durability == "async" and not self.saver.writes_inline

    # -- starting: load, fork, resume, or begin with the input -----------------------------

    async def begin(self) -> list[Task]:
        """Load the thread; resume it, fork it, or start it with the input."""
        run = self.run
        opts = run.opts
        head = await self.saver.aget_tuple(self.thread_id, self.ns)
        # A subgraph's call ignores the parent's checkpoint_id (its own namespace has
        # other checkpoints).
        wanted = opts.cfg.configurable.get("checkpoint_id") if opts.parent is None else None
        target_ns = opts.cfg.configurable.get("checkpoint_ns")
        if wanted is not None and target_ns and opts.parent is None:
            wanted = await self._aim_at_subgraph(target_ns, wanted)
        base = head
        if wanted is not None and (head is None or head.checkpoint.id != wanted):
            base = await self.saver.aget_tuple(self.thread_id, self.ns, wanted)
            if base is None:
                raise CheckpointNotFoundError(
                    f"thread {self.thread_id!r} has no checkpoint {wanted!r}; pick one from "
                    "graph.get_state_history(config)"
                )
        self.expected_latest = None if head is None else head.checkpoint.id
        self._loaded_parent = None if base is None else base.checkpoint.parent_id
        if wanted is not None and base is not None:
            # Addressed at a checkpoint: checkpointer=True subgraphs load their state as
            # of that checkpoint (LangGraph's replay state).
            self.lineage = await self._steps_before(base.checkpoint)
        inp = run.input
        if opts.parent is not None:
            resumed, base = await self._subgraph_base(head)
            if resumed is not None:
                return resumed
        if inp is None or isinstance(inp, Command):
            if base is None and isinstance(inp, Command) and not opts.spec.functional:
                return await self._start_with_command(inp)
            if base is None:
                raise CheckpointNotFoundError(
                    f"thread {self.thread_id!r} has no checkpoint to resume from; start it "
                    "with an input: graph.ainvoke({...}, config)"
                )
            return await self.resume(base, inp)
        # A new input, on a new thread or on top of the thread's state.
        if base is None:
            run.values = opts.spec.initial_values()
            run.step = -2
        else:
            self.restore(base.checkpoint)
        spec = opts.spec
        update = spec.input_schema.coerce_input(
            inp, allowed=spec.input_channels, strict=spec.strict
        )
        run.step += 1
        start = _algo.start_task(spec, inp)
        start.writes = list(update.items())
        start.done = True
        if spec.functional:
            # An entrypoint (LangGraph's Pregel of one node): the input checkpoint holds
            # the input and plans the node; there is no __start__ step.
            run.apply(start.writes, "the input")
            tasks = await run.plan_start()
            await self.save_checkpoint(tasks, "input")
            return tasks
        await self.save_checkpoint([start], "input")
        # The input's record goes with the first step's checkpoint (one write less); a
        # crash between the two leaves an input checkpoint without it, which asks for the
        # input again, as no step has run yet.
        return await self.after_input(start)

    async def _start_with_command(self, command: Command[Any]) -> list[Task]:
        """A ``Command`` on a thread with no checkpoint starts it, as LangGraph's: the
        update is applied to the empty state (the input checkpoint holds it), then again
        as the ``__start__`` task's writes (LangGraph maps the command as the input too),
        and the first step runs START's edges and the command's ``goto``."""
        run = self.run
        run.values = run.opts.spec.initial_values()
        run.step = -1
        start = _algo.command_start(run.opts.spec, command)
        run.apply(start.writes, "the command")
        await self.save_checkpoint([start], "input")
        return await self.after_input(start)

    async def _subgraph_base(
        self, head: CheckpointTuple | None
    ) -> tuple[list[Task] | None, CheckpointTuple | None]:
        """A subgraph's call: the tasks it resumes with, or the checkpoint its input
        goes on top of (None: it starts afresh).

        Its node runs again after an interrupt: the subgraph resumes where it stopped.
        Time travel to one of its checkpoints replays that one. Otherwise it starts
        afresh, or, with checkpointer=True, goes on from its history: the newest, or
        when its root run replays an older checkpoint, the newest as of then.
        """
        opts = self.run.opts
        assert opts.parent is not None
        outer = _persistence_of(opts.parent.run)
        if outer is not None:
            self.root = outer.root
            if outer.checkpoint_id is not None:
                self.parents = {**outer.parents, outer.ns: outer.checkpoint_id}
        target = self.root.targets.pop(ns_path(self.ns), None)
        if target is not None:
            replayed = await self.saver.aget_tuple(self.thread_id, *target)
            if replayed is not None:
                replay = not isinstance(self.root.run.input, Command)  # not a resume
                return await self.resume(replayed, None, replay=replay), None
        stateful = opts.persist is not None and opts.persist.stateful
        if (
            head is not None
            and opts.parent.task.resuming
            and (head.checkpoint.next or not stateful)
        ):
            return await self.resume(head, None), None
        if not stateful:
            return None, None
        lineage = self.root.lineage
        if lineage is None:
            return None, head
        for tup in await self.saver.alist(self.thread_id, self.ns):
            if (tup.checkpoint.metadata.get("parents") or {}).get("") in lineage:
                return None, tup
        return None, None

    async def _aim_at_subgraph(self, ns: str, checkpoint_id: str) -> str:
        """A root run given a subgraph's checkpoint (time travel inside a subgraph):
        the root checkpoint to replay; the subgraphs on the way replay theirs."""
        target = await self.saver.aget_tuple(self.thread_id, ns, checkpoint_id)
        if target is None:
            raise not_found_error(self.thread_id, ns, checkpoint_id)
        parents = dict(target.checkpoint.metadata.get("parents") or {})
        self.targets = {ns_path(k): (k, v) for k, v in parents.items() if k}
        self.targets[ns_path(ns)] = (ns, checkpoint_id)
        root_id = parents.get("")
        if root_id is None:
            raise CheckpointNotFoundError(
                f"{describe_checkpoint(self.thread_id, ns, checkpoint_id)} names no "
                "checkpoint of its root graph to replay from"
            )
        return str(root_id)

    async def _steps_before(self, checkpoint: Checkpoint) -> set[str]:
        """The checkpoints whose next step happened on the way to ``checkpoint`` (a
        forked or updated checkpoint replaces the step after its parent)."""
        stored = {
            t.checkpoint.id: t.checkpoint for t in await self.saver.alist(self.thread_id, self.ns)
        }
        found: set[str] = set()
        current: Checkpoint | None = checkpoint
        seen: set[str] = set()
        while current is not None and current.id not in seen:
            seen.add(current.id)
            parent = current.parent_id
            if parent is not None and current.metadata.get("source") == "loop":
                found.add(parent)
            current = stored.get(parent) if parent is not None else None
        return found

    async def after_input(self, start: Task) -> list[Task]:
        """Apply the input (the ``__start__`` task's writes) and plan the first step."""
        run = self.run
        opts = run.opts
        stream = run.stream
        applied = run.apply(start.writes, "the input")
        if opts.spec.ephemeral:  # the input is LangGraph's __start__ step
            _algo.clear_ephemeral(opts.spec, run.values, [start])
        if applied and "values" in stream.modes and not opts.spec.functional:
            stream.sink(stream.ns, "values", _algo.snapshot(opts.spec, run.values))
        tasks = await run.plan_start(start.next)
        run.step += 1
        await self.save_checkpoint(tasks, "loop", [start])
        return tasks

    def restore(self, checkpoint: Checkpoint) -> None:
        """Take the run's values, step and join barriers from ``checkpoint``."""
        run = self.run
        run.values = dict(checkpoint.values)
        run.step = checkpoint.step
        self.checkpoint_id = checkpoint.id
        run.barriers = {int(k): set(v) for k, v in checkpoint.barriers.items()}

    async def resume(
        self, base: CheckpointTuple, command: Command[Any] | None, *, replay: bool = False
    ) -> list[Task]:
        """Go on from ``base``: its finished tasks' writes are reused and its interrupted
        tasks run again. An older checkpoint is forked, and ``replay`` (time travel to
        the newest) replays it in place: their tasks all run again, and ask again."""
        checkpoint = base.checkpoint
        run = self.run
        opts = run.opts
        stream = run.stream
        self.restore(checkpoint)
        if not replay:
            for kept in base.tasks:
                if kept.name == RESUME_UPDATE:  # the update of an earlier resume command
                    run.apply(kept.writes, "an earlier resume command")
        run.resuming = True
        run.remaining = run.opts.cfg.recursion_limit + 1  # LangGraph's count on a resume
        starts_with_input = checkpoint.next[:1] == [("start", START, None)]
        # A checkpoint the thread moved past: its finished tasks run again (LangGraph's
        # replay). Without an answer to give, the run forks the thread (time travel).
        superseded = checkpoint.id != self.expected_latest and not starts_with_input
        if superseded and (command is None or command.resume is None):
            return await self._fork(checkpoint, command)
        records = {} if replay else {r.task_id: r for r in base.tasks}
        self.records = records
        if checkpoint.next and checkpoint.next[0][0] == "start":
            self._stream_values()
            return await self._replay_input(checkpoint, records)
        if command is not None and command.update is not None:
            # Before the tasks read the state: they see the update (LangGraph's order).
            # It is kept with the checkpoint: a run that stops again keeps it.
            writes = _algo.command_writes(opts.spec, command)
            run.apply(writes, "the resume command")
            await self._keep_update(writes)
        self._stream_values()  # (with the update: LangGraph's first chunk of a resume)
        tasks = _algo.tasks_from_checkpoint(
            opts.spec,
            checkpoint,
            _algo.with_managed(opts.spec, run.values, run.remaining),
            self.thread_id,
        )
        tasks = _algo.keep_sends(tasks, command)
        pending = self._reuse_records(tasks, records, replay=replay, rerun=superseded)
        if "checkpoints" in stream.modes or "debug" in stream.modes:
            # As LangGraph: the checkpoint resumed from comes first (after its values),
            # with the interrupts its tasks are waiting on.
            _emit.emit_checkpoint(run, checkpoint, tasks)
        if command is not None:
            if command.resume is not None:
                run.answers.update(_algo.resume_answers(pending, command.resume, self.thread_id))
            if command.goto:
                values = _algo.with_managed(opts.spec, run.values, run.remaining)
                for task in _algo.goto_tasks(opts.spec, tasks, command.goto, values):
                    task._id = task_id(checkpoint.id, task.path)
                    tasks.append(task)
        for task in tasks:
            task.interrupts = []
        return tasks

    def _reuse_records(
        self, tasks: list[Task], records: dict[str, TaskRecord], *, replay: bool, rerun: bool
    ) -> list[Task]:
        """Give the resumed tasks what their records kept: a finished task its result
        (unless ``rerun``: a resume addressed at a checkpoint the thread moved past reruns
        what finished or failed, LangGraph's replay), a failed one its error handler, an
        interrupted one its answers so far. Return the interrupted ones."""
        spec = self.run.opts.spec
        pending: list[Task] = []
        for task in tasks:
            # A task that runs again (interrupted, failed, cancelled, or cut off by a
            # crash) resumes its subgraphs from their checkpoints, as LangGraph's do.
            task.resuming = not replay
            record = records.get(task.id)
            if record is None:
                continue
            if rerun and record.status in ("done", "error"):
                task.resume = list(record.resume)
            elif record.status == "done":
                task.restore(record)
            elif record.status == "error" and task.node.error_handler is not None:
                # The node failed and its error handler did not finish: run the handler.
                handler = spec.nodes[task.node.error_handler]
                task.hand_to_error_handler(handler, NodeError(task.name, record.error or ""))
            elif record.status == "interrupted":
                task.resume = list(record.resume)
                task.interrupts = list(record.interrupts)
                task.answered = list(record.interrupts)
                pending.append(task)
        return pending

    async def _fork(self, checkpoint: Checkpoint, command: Command[Any] | None) -> list[Task]:
        """Time travel to a checkpoint the thread moved past: a copy of it becomes the
        newest checkpoint, with a ``Command``'s update applied and its ``goto`` added to
        the planned tasks (LangGraph's fork carries the command's writes), and the run
        goes on from there. Its tasks all run again."""
        run = self.run
        spec = run.opts.spec
        run.step = checkpoint.step + 1
        if command is not None and command.update is not None:
            run.apply(_algo.command_writes(spec, command), "the command")
        self._stream_values()
        values = _algo.with_managed(spec, run.values, run.remaining)
        tasks = _algo.tasks_from_checkpoint(spec, checkpoint, values, self.thread_id)
        tasks = _algo.keep_sends(tasks, command)
        if command is not None and command.goto:
            tasks.extend(_algo.goto_tasks(spec, tasks, command.goto, values))
        await self.save_checkpoint(tasks, "fork")
        return tasks

    def _stream_values(self) -> None:
        """The ``values`` chunk a resumed run starts with."""
        run = self.run
        stream = run.stream
        if "values" in stream.modes:
            stream.sink(stream.ns, "values", _algo.snapshot(run.opts.spec, run.values))

    async def _keep_update(self, writes: list[tuple[str, Any]]) -> None:
        """Store a resume command's update with the checkpoint resumed from (LangGraph's
        pending writes), so that a run that stops at an interrupt again keeps it."""
        if not writes or self.checkpoint_id is None:
            return
        record = TaskRecord(new_id(), RESUME_UPDATE, (RESUME_UPDATE,), "done", list(writes))
        with anyio.CancelScope(shield=True):
            await self.saver.aput_task(self.thread_id, self.ns, self.checkpoint_id, record)

    async def _replay_input(
        self, checkpoint: Checkpoint, records: dict[str, TaskRecord]
    ) -> list[Task]:
        """Resume an input checkpoint (a crash came before the first step was planned)."""
        start = _algo.start_task(self.run.opts.spec)
        start._id = task_id(checkpoint.id, start.path)
        record = records.get(start.id)
        if record is None:
            raise CheckpointNotFoundError(
                f"thread {self.thread_id!r}: the input of checkpoint {checkpoint.id!r} "
                "was not stored; start the thread again with an input"
            )
        start.writes = list(record.writes)
        start.next = list(record.next)  # (a starting Command's goto)
        self.run.resuming = False
        return await self.after_input(start)

    # -- one step ---------------------------------------------------------------------------

    async def run_step(
        self,
        tasks: list[Task],
        run_task: Callable[[Task], Awaitable[None]],
        limiter: anyio.CapacityLimiter | None,
    ) -> None:
        """Run a step's tasks that are not restored; on any way out by an exception, store
        what each task did (shielded) before the caller hears of it."""
        pending = [t for t in tasks if not t.restored]
        self.step_size = len(pending)
        try:
            if pending:
                await run_step(pending, run_task, limiter)
        except BaseException as exc:
            # Cancelled or failed: every node has unwound (cleanup included).
            with anyio.CancelScope(shield=True):
                await self.flush_unsaved()
                for task in tasks:
                    if not task.recorded:
                        await self._record_outcome(task, exc)
                await self.settle()
            raise

    async def _record_outcome(self, task: Task, exc: BaseException) -> None:
        if task.done:
            await self.record(task, "done")
        elif task.interrupted:
            await self.record(task, "interrupted")
        elif task.error is not None or task is getattr(exc, "_task", None):
            await self.record(task, "error", task.error or exc)
        else:
            await self.record(task, "cancelled")

    async def record(
        self, task: Task, status: TaskStatus, error: BaseException | None = None
    ) -> None:
        """Store one task's outcome under the current checkpoint."""
        assert self.checkpoint_id is not None
        task.recorded = True
        record = self._tracked(task.record(status, error))
        if self.durability == "exit" and self._unsaved is not None:
            self._unsaved_records.append(record)
            return
        if self._last_put is not None:
            # The checkpoint this record belongs to may still be on its way to the store.
            with anyio.CancelScope(shield=True):
                await self._last_put.wait()
            if self._put_failed:
                return  # it never got there: the run fails with that write's error alone
        await self.saver.aput_task(self.thread_id, self.ns, self.checkpoint_id, record)

    # -- checkpoints ------------------------------------------------------------------------

    async def save_checkpoint(
        self, next_tasks: list[Task], source: str, ran: Sequence[Task] = ()
    ) -> None:
        """Store the state after a step, with the records of ``ran`` (the step's tasks)
        that are not stored yet, in one write."""
        run = self.run
        records = []
        for task in ran:
            if task.done and not task.recorded:
                task.recorded = True
                records.append(self._tracked(task.record("done")))
        checkpoint = Checkpoint(
            id=new_id(),
            parent_id=self.checkpoint_id,
            step=run.step,
            created_at=_emit.now(),
            values=self._without_untracked(run.values),
            next=[("start", START, None)]
            if source == "input" and not run.opts.spec.functional
            else [self._tracked_descriptor(t) for t in next_tasks],
            barriers={str(k): sorted(v) for k, v in run.barriers.items() if v},
            metadata={
                "source": source,
                "step": run.step,
                "parents": dict(self.parents),
                **run.opts.cfg.checkpoint_metadata,
            },
            writers=sorted({t.name for t in ran if t.done and t.writes}),
        )
        self.checkpoint_id = checkpoint.id
        if self.lineage is not None and source == "loop" and checkpoint.parent_id:
            self.lineage.add(checkpoint.parent_id)
        for task in next_tasks:
            task._id = task_id(checkpoint.id, task.path)
        modes = run.stream.modes
        if "checkpoints" in modes or "debug" in modes:
            shown = checkpoint
            if self.durability == "exit":
                shown = dataclasses.replace(checkpoint, parent_id=self._loaded_parent)
            _emit.emit_checkpoint(run, shown, next_tasks)
        if self.durability == "exit":
            self._unsaved = checkpoint
            self._unsaved_records = []
            return
        if self.durability == "async" and self.background is not None:
            self._put_in_background(checkpoint, records)
            return
        await self._aput(checkpoint, self.expected_latest, records)
        self.expected_latest = checkpoint.id

    def _without_untracked(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` without the keys of LangGraph's ``UntrackedValue`` channels (never
        stored: in checkpoints, task writes and ``Send`` args, as LangGraph)."""
        channels = self.run.opts.spec.channels
        return {k: v for k, v in values.items() if not (k in channels and channels[k].untracked)}

    def _tracked(self, record: TaskRecord) -> TaskRecord:
        channels = self.run.opts.spec.channels
        if not any(ch.untracked for ch in channels.values()):
            return record
        writes = [(k, v) for k, v in record.writes if not (k in channels and channels[k].untracked)]
        routes = [
            Send(r.node, self._without_untracked(r.arg), timeout=r.timeout)
            if isinstance(r, Send) and isinstance(r.arg, dict)
            else r
            for r in record.next
        ]
        return dataclasses.replace(record, writes=writes, next=routes)

    def _tracked_descriptor(self, task: Task) -> tuple[Any, ...]:
        kind, name, arg = task.descriptor()
        if kind == "push" and isinstance(arg, dict):
            arg = self._without_untracked(arg)
        return (kind, name, arg)

    def _put_in_background(self, checkpoint: Checkpoint, records: list[TaskRecord]) -> None:
        """Durability "async": write after the previous write, in the run's background
        task group; a failed write fails the run, and later writes are skipped."""
        assert self.background is not None
        previous = self._last_put
        done = self._last_put = anyio.Event()
        expected = self.expected_latest
        self.expected_latest = checkpoint.id

        async def put_after() -> None:
            with anyio.CancelScope(shield=True):
                try:
                    if previous is not None:
                        await previous.wait()
                    if self._put_failed:
                        return  # the run fails with the first write's error, not more
                    await self._aput(checkpoint, expected, records)
                except BaseException:
                    self._put_failed = True
                    raise
                finally:
                    done.set()

        self.background.start_soon(put_after)

    async def _aput(
        self, checkpoint: Checkpoint, expected: str | None, records: Sequence[TaskRecord]
    ) -> None:
        """Store a checkpoint (and the records of the step that led to it) through the
        saver; a saver subclass that overrides ``aput`` with LangGraph's signature is
        called LangGraph's way (``aput(config, checkpoint, metadata, new_versions)``)."""
        saver = self.saver
        if overrides_langgraph_aput(saver):
            args = langgraph_put_args(self.thread_id, self.ns, checkpoint, expected, records)
            await saver.aput(*args)
            return
        await saver.aput(
            self.thread_id, self.ns, checkpoint, expected_latest=expected, parent_records=records
        )

    async def flush_unsaved(self) -> None:
        """Durability "exit": write the newest checkpoint, and its task records, now."""
        checkpoint = self._unsaved
        if checkpoint is None:
            return
        # As in LangGraph, the checkpoints in between are never stored: the one stored
        # follows the thread's previous head directly.
        stored = dataclasses.replace(checkpoint, parent_id=self.expected_latest)
        await self._aput(stored, self.expected_latest, ())
        self.expected_latest = checkpoint.id
        for record in self._unsaved_records:
            await self.saver.aput_task(self.thread_id, self.ns, checkpoint.id, record)
        self._unsaved_records = []
        self._unsaved = None

    async def settle(self, *, ended: bool = False) -> None:
        """Make every write of the run durable before the run returns.

        ``ended``: the run ran to its end. A subgraph's call that did, with durability
        "exit", leaves no checkpoint (unless it keeps its history across calls), as in
        LangGraph: only a stopped one needs its state to resume.
        """
        persist = self.run.opts.persist
        stateful = persist is not None and persist.stateful
        if ended and self.durability == "exit" and self.ns and not stateful:
            self._unsaved = None
        await self.flush_unsaved()
        if self._last_put is not None:
            with anyio.CancelScope(shield=True):
                await self._last_put.wait()
