"""One run of a compiled graph: bulk-synchronous supersteps, as in LangGraph's Pregel loop.

Each superstep runs every triggered node concurrently (see :mod:`._run` for how they are
scheduled and cancelled), then applies their updates in a deterministic order: nodes
triggered by edges in alphabetical order of name, then ``Send`` tasks in the order they
were sent (LangGraph's order). Routing (static edges, conditional edges, ``Command.goto``,
join edges) decides which nodes run in the next step.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.to_thread

from ._constants import END, START
from ._context import CONFIG_KEY_NODE, reset_current, set_current
from ._errors import GraphInterrupt, GraphRecursionError, InvalidUpdateError
from ._ids import new_id
from ._output import RunOutput
from ._run import run_attempts, run_step, unwrap_exception_group
from ._schema import MISSING
from ._types import Command, Interrupt, RunnableConfig, Send
from .checkpoint._base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointNotFoundError,
    CheckpointTuple,
    TaskRecord,
    TaskStatus,
)

if TYPE_CHECKING:
    from ._compiled import CompiledStateGraph
    from ._graph import Branch, NodeSpec

__all__ = ("NodeContext", "ParentCommand", "Run", "Sink")

Sink = Callable[[tuple[str, ...], str, Any], None]
"""Receives ``(namespace, mode, chunk)`` for every stream chunk of a run."""

YIELD_EVERY = 0.001
"""Seconds of supersteps after which the loop yields to the event loop once."""

TROUBLESHOOTING = "https://docs.langchain.com/oss/python/langgraph/errors/"


class ParentCommand(Exception):
    """Carries a ``Command(graph=Command.PARENT)`` out of a subgraph to its parent's node."""

    def __init__(self, command: Command[Any]) -> None:
        super().__init__(command)
        self.command = command


class Task:
    __slots__ = (
        "_id",
        "done",
        "error",
        "failed_at",
        "input",
        "interrupt_index",
        "interrupts",
        "name",
        "next",
        "node",
        "path",
        "recorded",
        "restored",
        "resume",
        "sort_key",
        "triggers",
        "update",
        "writes",
    )

    def __init__(
        self,
        node: NodeSpec,
        input: Any,
        triggers: tuple[str, ...],
        path: tuple[Any, ...],
        sort_key: tuple[int, Any],
    ) -> None:
        self.node = node
        self.name = node.name
        self.input = input
        self.triggers = triggers
        self.path = path
        self.sort_key = sort_key
        self._id: str | None = None
        self.writes: Sequence[tuple[str, Any]] = ()
        self.update: Any = None
        self.next: list[str | Send] = []
        self.error: BaseException | None = None
        self.failed_at = 0
        self.done = False
        self.restored = False
        self.recorded = False
        self.interrupts: list[Interrupt] = []
        self.resume: list[Any] = []
        self.interrupt_index = 0

    def restore(self, record: TaskRecord) -> None:
        """Take a finished task's outcome from its stored record instead of running it."""
        self.writes = list(record.writes)
        self.update = dict(record.writes) or None
        self.next = list(record.next)
        self.done = self.restored = self.recorded = True

    def record(self, status: TaskStatus, error: BaseException | None = None) -> TaskRecord:
        return TaskRecord(
            task_id=self.id,
            name=self.name,
            path=self.path,
            status=status,
            writes=list(self.writes) if status == "done" else [],
            next=list(self.next) if status == "done" else [],
            interrupts=list(self.interrupts),
            error=None if error is None else repr(error),
            resume=list(self.resume),
        )

    def descriptor(self) -> tuple[Any, ...]:
        """How a checkpoint stores this task, to rebuild it on resume."""
        if self.path[0] == "__pregel_push":
            return ("push", self.name, self.input)
        return ("pull", self.name, self.triggers)

    @property
    def id(self) -> str:
        """The task's id, made on first use (most runs never read it)."""
        if self._id is None:
            self._id = new_id()
        return self._id


_langchain: Any = None


def _langchain_support() -> Any:
    """scopegraph._langchain once the program has imported langchain_core, else None: the
    core never imports LangChain itself."""
    global _langchain
    if _langchain is None and "langchain_core" in sys.modules:
        from . import _langchain as module

        _langchain = module
    return _langchain


class NodeContext:
    """What a running node can reach: its run, its config, its stream writer."""

    __slots__ = (
        "_checkpoint_ns",
        "_config",
        "_custom",
        "_metadata",
        "langchain",
        "run",
        "run_id",
        "task",
    )

    def __init__(self, run: Run, task: Task) -> None:
        self.run = run
        self.task = task
        self.run_id: str | None = None
        self._checkpoint_ns: str | None = None
        self._config: RunnableConfig | None = None
        self._metadata: dict[str, Any] | None = None
        self._custom: tuple[Any, ...] | bool | None = None
        """What this node's custom events share, built on the first; False: no events."""
        self.langchain: Any = None
        """The node's LangChain callback handler, once its config was built with one."""

    @property
    def parent_ids(self) -> list[str]:
        return self.run.child_parent_ids

    @property
    def checkpoint_ns(self) -> str:
        ns = self._checkpoint_ns
        if ns is None:
            task, parent_ns = self.task, self.run.checkpoint_ns
            ns = f"{task.name}:{task.id}"
            if parent_ns:
                ns = f"{parent_ns}|{ns}"
            self._checkpoint_ns = ns
        return ns

    @property
    def metadata(self) -> dict[str, Any]:
        md = self._metadata
        if md is None:
            run, task = self.run, self.task
            md = self._metadata = {
                **run.user_metadata,
                "langgraph_step": run.step,
                "langgraph_node": task.name,
                "langgraph_triggers": task.triggers,
                "langgraph_path": task.path,
                "langgraph_checkpoint_ns": self.checkpoint_ns,
            }
        return md

    @property
    def config(self) -> RunnableConfig:
        if self._config is None:
            run = self.run
            self._config = {  # type: ignore[assignment]
                **run.config,
                "metadata": self.metadata,
                "configurable": {
                    **run.configurable,
                    "checkpoint_ns": self.checkpoint_ns,
                    "__pregel_task_id": self.task.id,
                    CONFIG_KEY_NODE: self,
                },
            }
            langchain = _langchain_support()
            if langchain is not None:
                self._config["callbacks"] = langchain.callbacks_for(  # type: ignore[index]
                    self, run.config.get("callbacks")
                )
        return self._config  # type: ignore[return-value]

    @property
    def runtime(self) -> Any:
        """The node's ``Runtime`` (LangGraph's): the run's context and stream writer."""
        from .runtime import Runtime

        return Runtime(context=self.run.context, stream_writer=self.write_custom)

    def write_custom(self, chunk: Any) -> None:
        """The node's ``get_stream_writer()``: a chunk for the ``custom`` stream mode."""
        run = self.run
        if "custom" not in run.modes:
            return
        if threading.get_ident() == run.loop_thread:
            run.sink(run.ns, "custom", chunk)
        else:
            anyio.from_thread.run_sync(run.sink, run.ns, "custom", chunk)

    def custom_event(self, name: str, data: Any) -> None:
        custom = self._custom
        if custom is None:
            run = self.run
            if run.output is None or not run.events:
                self._custom = False
                return
            # Events of one node share their tags and metadata objects: they are the same.
            custom = self._custom = (
                run.output.put,
                self.run_id,
                ["seq:step:1", *run.user_tags],
                {**run.event_metadata(self), "checkpoint_ns": self.checkpoint_ns},
                self.parent_ids,
            )
        elif custom is False or custom is True:
            return
        put, run_id, tags, metadata, parent_ids = custom
        put(
            {
                "event": "on_custom_event",
                "run_id": run_id,
                "name": name,
                "tags": tags,
                "metadata": metadata,
                "data": data,
                "parent_ids": parent_ids,
            }
        )


def planned_paths(next_tasks: Sequence[Any]) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Each entry of a checkpoint's ``next`` with the path of the task it plans."""
    index = 0
    for entry in next_tasks:
        kind, name = entry[0], entry[1]
        if kind == "push":
            yield entry, ("__pregel_push", index, False)
            index += 1
        else:  # "pull", or "start" for the input's __start__ task
            yield entry, ("__pregel_pull", name)


def _task_id(checkpoint_id: str, path: tuple[Any, ...]) -> str:
    """The id of a task, derived from its checkpoint and path, so a resumed run finds the
    records of the tasks it planned."""
    h = hashlib.md5(f"{checkpoint_id}|{path!r}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


class Run:
    """The state and the superstep loop of one run (or of one subgraph call)."""

    def __init__(
        self,
        graph: CompiledStateGraph,
        input: Any,
        config: RunnableConfig,
        *,
        output: RunOutput | None,
        modes: frozenset[str],
        sink: Sink,
        events: bool,
        ns: tuple[str, ...] = (),
        checkpoint_ns: str = "",
        parent: NodeContext | None = None,
    ) -> None:
        self.graph = graph
        self.input = input
        self.output = output
        self.modes = modes
        self.sink = sink
        self.events = events
        self.ns = ns
        self.checkpoint_ns = checkpoint_ns
        self.parent = parent
        self.loop_thread = threading.get_ident()
        self.step = 0
        self.values: dict[str, Any] = {}
        self.multi_mode = False
        self.context: Any = None
        """The run's context (``ainvoke(..., context=...)``), shared with subgraphs."""

        user_config: dict[str, Any] = dict(config)
        self.run_name: str = user_config.pop("run_name", None) or graph.name
        given_id = user_config.pop("run_id", None)
        self._run_id: str | None = None if given_id is None else str(given_id)
        limit = user_config.get("recursion_limit", graph.recursion_limit)
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"recursion_limit must be an int of at least 1, not {limit!r}")
        self.recursion_limit = limit
        self.user_tags: list[str] = list(user_config.get("tags") or ())
        self.user_metadata: dict[str, Any] = dict(user_config.get("metadata") or {})
        self.configurable: dict[str, Any] = {
            k: v for k, v in (user_config.get("configurable") or {}).items() if k != CONFIG_KEY_NODE
        }
        # Checkpoint metadata (LangGraph's rule): the user's metadata, plus the user's own
        # configurable keys; node metadata also gets the thread_id.
        self.checkpoint_metadata: dict[str, Any] = {
            **self.user_metadata,
            **{
                k: v
                for k, v in self.configurable.items()
                if not k.startswith("__")
                and k not in ("thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map")
            },
        }
        if "thread_id" in self.configurable:
            self.user_metadata.setdefault("thread_id", self.configurable["thread_id"])
        user_config.pop("metadata", None)
        user_config.pop("configurable", None)
        self.config = user_config
        max_concurrency = user_config.get("max_concurrency")
        self.limiter = (
            anyio.CapacityLimiter(max_concurrency) if isinstance(max_concurrency, int) else None
        )
        self._child_parent_ids: list[str] | None = None
        self._barriers: dict[int, set[str]] = {}
        # Persistence (only the root run of a graph compiled with a checkpointer).
        self.saver: BaseCheckpointSaver | None = None
        self.thread_id = ""
        self.durability = "async"
        self.checkpoint_id: str | None = None
        self.expected_latest: str | None = None
        self.resuming = False
        self.interrupts: list[Interrupt] = []
        self.interrupt_before: frozenset[str] = frozenset()
        self.interrupt_after: frozenset[str] = frozenset()
        self._background: anyio.abc.TaskGroup | None = None
        self._step_size = 0
        self._last_put: anyio.Event | None = None
        self._put_failed = False
        """A background (durability "async") write failed: later ones are skipped."""
        self._unsaved: Checkpoint | None = None
        self._unsaved_records: list[TaskRecord] = []

    @property
    def run_id(self) -> str:
        """The run's id (``config["run_id"]`` if given), made on first use."""
        if self._run_id is None:
            self._run_id = new_id()
        return self._run_id

    @property
    def child_parent_ids(self) -> list[str]:
        """``parent_ids`` of this run's nodes' events: outermost first."""
        ids = self._child_parent_ids
        if ids is None:
            parent = self.parent
            if parent is None:
                ids = [self.run_id]
            else:
                ids = [*parent.parent_ids, parent.run_id or "", self.run_id]
            self._child_parent_ids = ids
        return ids

    # -- the loop ------------------------------------------------------------------------

    async def execute(self) -> Any:
        """Run the supersteps to the end (or to an interrupt); return the state."""
        if self.events:
            self._root_event("on_chain_start", {"input": self.input})
        if self.saver is None:
            tasks = await self._begin()
            await self._loop(tasks)
        elif self.durability == "async" and not self.saver.writes_inline:
            async with unwrap_exception_group(), anyio.create_task_group() as self._background:
                tasks = await self._begin_persistent()
                await self._loop(tasks)
        else:
            tasks = await self._begin_persistent()
            await self._loop(tasks)
        if self.events:
            data = {"output": self.snapshot()}
            if self.parent is not None:
                data["input"] = self.input
            self._root_event("on_chain_end", data)
        return self.values

    async def _begin(self) -> list[Task]:
        """Without a checkpointer: apply the input and plan the first step."""
        graph = self.graph
        self.values = graph.initial_values()
        update = graph.input_schema.coerce_input(self.input, allowed=graph.input_channels)
        if self._apply(update.items(), "the input") and "values" in self.modes:
            self.sink(self.ns, "values", self.snapshot())
        return await self._plan_start()

    async def _loop(self, tasks: list[Task]) -> None:
        modes = self.modes
        limit = self.recursion_limit
        saver = self.saver
        steps = 0
        resuming = self.resuming
        yielded = time.perf_counter()
        while tasks:
            if (
                self.interrupt_before
                and not resuming
                and any(t.name in self.interrupt_before for t in tasks)
            ):
                self._static_interrupt()
                break
            resuming = False
            now = time.perf_counter()
            if now - yielded > YIELD_EVERY:
                # Nodes that never await would keep the loop (and a cancellation) waiting
                # until the run ends: give the event loop a turn now and then.
                await anyio.lowlevel.checkpoint()
                yielded = now
            self.step += 1
            if "tasks" in modes or "debug" in modes:
                for task in tasks:
                    if not task.restored:
                        self._emit_task_start(task)
            if saver is None:
                await run_step(tasks, self._run_task, self.limiter)
            else:
                await self._run_step_persistent(tasks)
                if any(t.interrupts for t in tasks):
                    self.step -= 1  # the step did not happen: its checkpoint is the last one
                    await self._pause(tasks)
                    break
            written: dict[str, str] | None = None
            if len(tasks) > 1:
                tasks.sort(key=_sort_key)
                written = {}
            updated = False
            for task in tasks:
                if task.writes:
                    updated = self._apply(task.writes, task.name, written) or updated
            if updated and "values" in modes:
                self.sink(self.ns, "values", self.snapshot())
            ran = tasks
            tasks = self._plan_next(tasks)
            if saver is not None:
                await self._save_checkpoint(tasks, "loop", ran)
                if self.interrupt_after and any(t.name in self.interrupt_after for t in ran):
                    self._static_interrupt()
                    break
            steps += 1
            if steps >= limit:
                raise GraphRecursionError(
                    f"Recursion limit of {limit} reached without hitting a stop condition. "
                    "You can increase the limit by setting the `recursion_limit` config key.\n"
                    f"For troubleshooting, visit: {TROUBLESHOOTING}GRAPH_RECURSION_LIMIT"
                )
        if saver is not None:
            await self._settle()

    # -- persistence -----------------------------------------------------------------------

    async def _begin_persistent(self) -> list[Task]:
        """Load the thread; resume it, fork it, or start it with the input."""
        saver = self.saver
        assert saver is not None
        graph = self.graph
        thread = self.thread_id
        head = await saver.aget_tuple(thread, self.checkpoint_ns)
        wanted = self.configurable.get("checkpoint_id")
        base = head
        if wanted is not None and (head is None or head.checkpoint.id != wanted):
            base = await saver.aget_tuple(thread, self.checkpoint_ns, wanted)
            if base is None:
                raise CheckpointNotFoundError(
                    f"thread {thread!r} has no checkpoint {wanted!r}; pick one from "
                    "graph.get_state_history(config)"
                )
        self.expected_latest = None if head is None else head.checkpoint.id
        inp = self.input
        if inp is None or isinstance(inp, Command):
            if base is None:
                raise CheckpointNotFoundError(
                    f"thread {thread!r} has no checkpoint to resume from; start it with an "
                    "input: graph.ainvoke({...}, config)"
                )
            return await self._resume(base, inp)
        # A new input, on a new thread or on top of the thread's state.
        if base is None:
            self.values = graph.initial_values()
            self.step = -2
        else:
            self._restore_values(base.checkpoint)
        update = graph.input_schema.coerce_input(inp, allowed=graph.input_channels)
        self.step += 1
        start = Task(graph.start_node, inp, (START,), ("__pregel_pull", START), (0, START))
        start.writes = list(update.items())
        start.done = True
        await self._save_checkpoint([start], "input")
        # The input's record goes with the first step's checkpoint (one write less); a
        # crash between the two leaves an input checkpoint without it, which asks for the
        # input again, as no step has run yet.
        return await self._after_input(start)

    async def _after_input(self, start: Task) -> list[Task]:
        """Apply the input (the ``__start__`` task's writes) and plan the first step."""
        if self._apply(start.writes, "the input") and "values" in self.modes:
            self.sink(self.ns, "values", self.snapshot())
        tasks = await self._plan_start()
        self.step += 1
        await self._save_checkpoint(tasks, "loop", [start])
        return tasks

    def _restore_values(self, checkpoint: Checkpoint) -> None:
        self.values = dict(checkpoint.values)
        self.step = checkpoint.step
        self.checkpoint_id = checkpoint.id
        self._barriers = {int(k): set(v) for k, v in checkpoint.barriers.items()}

    async def _resume(self, base: CheckpointTuple, command: Command[Any] | None) -> list[Task]:
        checkpoint = base.checkpoint
        self._restore_values(checkpoint)
        self.resuming = True
        graph = self.graph
        records = {r.task_id: r for r in base.tasks}
        if "values" in self.modes:
            self.sink(self.ns, "values", self.snapshot())
        if checkpoint.id != self.expected_latest and checkpoint.next[:1] != [
            ("start", START, None)
        ]:
            # Replaying an older checkpoint forks the thread: a copy of it becomes the
            # newest checkpoint, and the run goes on from there. Its tasks run again.
            self.step = checkpoint.step + 1
            tasks = self._tasks_from(checkpoint)
            await self._save_checkpoint(tasks, "fork")
            return tasks
        if checkpoint.next and checkpoint.next[0][0] == "start":
            start = Task(graph.start_node, None, (START,), ("__pregel_pull", START), (0, START))
            start._id = _task_id(checkpoint.id, start.path)
            record = records.get(start.id)
            if record is None:
                raise CheckpointNotFoundError(
                    f"thread {self.thread_id!r}: the input of checkpoint {checkpoint.id!r} "
                    "was not stored; start the thread again with an input"
                )
            start.writes = list(record.writes)
            self.resuming = False
            return await self._after_input(start)
        tasks = self._tasks_from(checkpoint)
        pending: list[Task] = []
        for task in tasks:
            record = records.get(task.id)
            if record is None:
                continue
            if record.status == "done":
                task.restore(record)
            elif record.status == "interrupted":
                task.resume = list(record.resume)
                task.interrupts = list(record.interrupts)
                pending.append(task)
        if "checkpoints" in self.modes or "debug" in self.modes:
            # As LangGraph: the checkpoint resumed from comes first (after its values),
            # with the interrupts its tasks are waiting on.
            self._emit_checkpoint(checkpoint, tasks)
        if command is not None:
            if command.update is not None:
                updates, _ = self._from_commands_input(command)
                self._apply(updates.items(), "the resume command")
            if command.resume is not None:
                self._give_resume(pending, command.resume)
        for task in tasks:
            task.interrupts = []
        return tasks

    def _from_commands_input(self, command: Command[Any]) -> tuple[dict[str, Any], list[Any]]:
        fake = Task(self.graph.start_node, None, (), ("__pregel_pull", START), (0, START))
        return self._from_commands(fake, command)

    def _give_resume(self, pending: list[Task], resume: Any) -> None:
        waiting = [(t, i) for t in pending for i in t.interrupts]
        if (
            isinstance(resume, dict)
            and resume
            and all(any(i.id == key for _, i in waiting) for key in resume)
        ):
            for task, intr in waiting:
                if intr.id in resume:
                    task.resume.append(resume[intr.id])
            return
        if len(waiting) != 1:
            ids = ", ".join(repr(i.id) for _, i in waiting) or "none"
            raise RuntimeError(  # LangGraph's type, so `except RuntimeError` handlers work
                f"Command(resume=...) with one value needs exactly one pending interrupt, but "
                f"thread {self.thread_id!r} has {len(waiting)} (ids: {ids}); resume each by its "
                "interrupt id: Command(resume={interrupt_id: value, ...})"
            )
        waiting[0][0].resume.append(resume)

    def _tasks_from(self, checkpoint: Checkpoint) -> list[Task]:
        nodes = self.graph.nodes
        tasks: list[Task] = []
        for (kind, name, extra), path in planned_paths(checkpoint.next):
            if name not in nodes:
                raise CheckpointNotFoundError(
                    f"checkpoint {checkpoint.id!r} of thread {self.thread_id!r} plans node "
                    f"{name!r}, which this graph does not have; resume it with the graph "
                    "that wrote it"
                )
            if kind == "push":
                task = Task(nodes[name], extra, ("__pregel_push",), path, (1, path[1]))
            else:
                _, path, key = self.graph.pull_info[name]
                task = Task(
                    nodes[name], self.graph.node_views[name](self.values), tuple(extra), path, key
                )
            task._id = _task_id(checkpoint.id, task.path)
            tasks.append(task)
        return tasks

    async def _run_step_persistent(self, tasks: list[Task]) -> None:
        pending = [t for t in tasks if not t.restored]
        self._step_size = len(pending)
        try:
            if pending:
                await run_step(pending, self._run_task, self.limiter)
        except BaseException as exc:
            # Cancelled or failed: every node has unwound (cleanup included). Store what
            # each task did before the caller hears of it.
            with anyio.CancelScope(shield=True):
                await self._flush_unsaved()
                for task in tasks:
                    if task.recorded:
                        continue
                    if task.done:
                        await self._record(task, "done")
                    elif task.interrupts:
                        await self._record(task, "interrupted")
                    elif task.error is not None or task is getattr(exc, "_task", None):
                        await self._record(task, "error", task.error or exc)
                    else:
                        await self._record(task, "cancelled")
                await self._settle()
            raise

    async def _record(
        self, task: Task, status: TaskStatus, error: BaseException | None = None
    ) -> None:
        saver = self.saver
        assert saver is not None
        assert self.checkpoint_id is not None
        task.recorded = True
        record = task.record(status, error)
        if self.durability == "exit" and self._unsaved is not None:
            self._unsaved_records.append(record)
            return
        if self._last_put is not None:
            # The checkpoint this record belongs to may still be on its way to the store.
            with anyio.CancelScope(shield=True):
                await self._last_put.wait()
            if self._put_failed:
                return  # it never got there: the run fails with that write's error alone
        await saver.aput_task(self.thread_id, self.checkpoint_ns, self.checkpoint_id, record)

    async def _save_checkpoint(
        self, next_tasks: list[Task], source: str, ran: Sequence[Task] = ()
    ) -> None:
        """Store the state after a step, with the records of ``ran`` (the step's tasks)
        that are not stored yet, in one write."""
        records = []
        for task in ran:
            if task.done and not task.recorded:
                task.recorded = True
                records.append(task.record("done"))
        checkpoint = Checkpoint(
            id=new_id(),
            parent_id=self.checkpoint_id,
            step=self.step,
            created_at=_now(),
            values=dict(self.values),
            next=[("start", START, None)]
            if source == "input"
            else [t.descriptor() for t in next_tasks],
            barriers={str(k): sorted(v) for k, v in self._barriers.items() if v},
            metadata={
                "source": source,
                "step": self.step,
                "parents": {},
                **self.checkpoint_metadata,
            },
        )
        self.checkpoint_id = checkpoint.id
        for task in next_tasks:
            task._id = _task_id(checkpoint.id, task.path)
        if "checkpoints" in self.modes or "debug" in self.modes:
            self._emit_checkpoint(checkpoint, next_tasks)
        if self.durability == "exit":
            self._unsaved = checkpoint
            self._unsaved_records = []
            return
        await self._put(checkpoint, records)

    async def _put(self, checkpoint: Checkpoint, records: list[TaskRecord]) -> None:
        saver = self.saver
        assert saver is not None
        if self.durability == "async" and self._background is not None:
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
                        await saver.aput(
                            self.thread_id,
                            self.checkpoint_ns,
                            checkpoint,
                            expected_latest=expected,
                            parent_records=records,
                        )
                    except BaseException:
                        self._put_failed = True
                        raise
                    finally:
                        done.set()

            self._background.start_soon(put_after)
            return
        await saver.aput(
            self.thread_id,
            self.checkpoint_ns,
            checkpoint,
            expected_latest=self.expected_latest,
            parent_records=records,
        )
        self.expected_latest = checkpoint.id

    async def _flush_unsaved(self) -> None:
        """Durability "exit": write the newest checkpoint, and its task records, now."""
        saver = self.saver
        checkpoint = self._unsaved
        if saver is None or checkpoint is None:
            return
        # As in LangGraph, the checkpoints in between are never stored: the one stored
        # follows the thread's previous head directly.
        stored = dataclasses.replace(checkpoint, parent_id=self.expected_latest)
        await saver.aput(
            self.thread_id, self.checkpoint_ns, stored, expected_latest=self.expected_latest
        )
        self.expected_latest = checkpoint.id
        for record in self._unsaved_records:
            await saver.aput_task(self.thread_id, self.checkpoint_ns, checkpoint.id, record)
        self._unsaved_records = []
        self._unsaved = None

    async def _settle(self) -> None:
        """Make every write of the run durable before the run returns."""
        await self._flush_unsaved()
        if self._last_put is not None:
            with anyio.CancelScope(shield=True):
                await self._last_put.wait()

    async def _pause(self, tasks: list[Task]) -> None:
        """Node interrupts: the step's outcome is stored; the run stops here.

        The output shows the state with the writes of the step's finished tasks applied
        (LangGraph's live view); the stored checkpoint stays the one before the step.
        """
        interrupts = [i for t in tasks for i in t.interrupts]
        for task in sorted(tasks, key=_sort_key):
            if task.done and task.writes:
                self._apply(task.writes, task.name)
        with anyio.CancelScope(shield=True):
            await self._flush_unsaved()
            await self._settle()
        self.interrupts = interrupts
        if "updates" in self.modes:
            for task in tasks:
                if task.interrupts:
                    self.sink(self.ns, "updates", {"__interrupt__": tuple(task.interrupts)})
        if "values" in self.modes:
            self.sink(self.ns, "values", {**self.snapshot(), "__interrupt__": tuple(interrupts)})

    def _static_interrupt(self) -> None:
        """interrupt_before / interrupt_after: stop; the last checkpoint plans what is next."""
        self.interrupts = []
        if "updates" in self.modes:
            self.sink(self.ns, "updates", {"__interrupt__": ()})

    def _emit_checkpoint(self, checkpoint: Checkpoint, next_tasks: list[Task]) -> None:
        payload = {
            "config": {
                "configurable": {
                    "checkpoint_ns": self.checkpoint_ns,
                    "thread_id": self.thread_id,
                    "checkpoint_id": checkpoint.id,
                }
            },
            "parent_config": None
            if checkpoint.parent_id is None
            else {
                "configurable": {
                    "checkpoint_ns": self.checkpoint_ns,
                    "thread_id": self.thread_id,
                    "checkpoint_id": checkpoint.parent_id,
                }
            },
            "values": self.snapshot(),
            "metadata": checkpoint.metadata,
            "next": [START]
            if checkpoint.next and checkpoint.next[0][0] == "start"
            else [t.name for t in next_tasks],
            "tasks": [
                {
                    "id": t.id,
                    "name": t.name,
                    "interrupts": tuple(dataclasses.asdict(i) for i in t.interrupts),
                    "state": None,
                }
                for t in next_tasks
            ],
        }
        if "checkpoints" in self.modes:
            self.sink(self.ns, "checkpoints", payload)
        if "debug" in self.modes:
            self.sink(
                self.ns,
                "debug",
                {"step": self.step, "timestamp": _now(), "type": "checkpoint", "payload": payload},
            )

    def snapshot(self) -> dict[str, Any]:
        """A copy of the state, keys in schema order."""
        values = self.values
        return {k: values[k] for k in self.graph.channels if k in values}

    def result(self) -> Any:
        """The run's output: the state filtered to the output schema, or None if empty."""
        keys = self.graph.output_keys
        values = self.values
        out = {k: values[k] for k in keys if k in values}
        return out or None

    # -- writes --------------------------------------------------------------------------

    def _apply(self, writes: Any, writer: str, written: dict[str, str] | None = None) -> bool:
        """Apply one writer's writes; ``written`` tracks last-value keys across a step."""
        values = self.values
        reducers = self.graph.reducers
        updated = False
        for key, value in writes:
            reducer = reducers[key]
            if reducer is None:
                if written is not None:
                    other = written.get(key)
                    if other is not None:
                        raise InvalidUpdateError(
                            f"At key '{key}': Can receive only one value per step. Use an "
                            "Annotated key to handle multiple values. "
                            f"(nodes {other!r} and {writer!r} both wrote it in step "
                            f"{self.step}; give {key!r} a reducer, e.g. "
                            "Annotated[list, operator.add], or let only one node write it)"
                            f"\nFor troubleshooting, visit: {TROUBLESHOOTING}"
                            "INVALID_CONCURRENT_GRAPH_UPDATE"
                        )
                    written[key] = writer
                values[key] = value
            else:
                current = values.get(key, MISSING)
                values[key] = value if current is MISSING else reducer(current, value)
            updated = True
        return updated

    # -- routing -------------------------------------------------------------------------

    async def _plan_start(self) -> list[Task]:
        graph = self.graph
        targets: list[str | Send] = list(graph.edges_from.get(START, ()))
        branches = graph.branches.get(START)
        if branches:
            start_task = Task(
                graph.start_node, dict(self.values), (START,), ("__pregel_pull", START), (0, START)
            )
            start_ctx = NodeContext(self, start_task)
            if self.events:
                self._node_event(start_ctx, "on_chain_start", {"input": self.input}, hidden=True)
            for branch in branches:
                targets.extend(await self._route(branch, start_task, start_ctx, self.values))
            if self.events:
                self._node_event(start_ctx, "on_chain_stream", {"chunk": self.input}, hidden=True)
                self._node_event(
                    start_ctx,
                    "on_chain_end",
                    {"output": self.input, "input": self.input},
                    hidden=True,
                )
        return self._make_tasks(targets, {})

    def _plan_next(self, done: list[Task]) -> list[Task]:
        graph = self.graph
        targets: list[str | Send] = []
        joins: dict[str, list[str]] = {}
        waiting = graph.waiting_by_source
        for task in done:
            targets.extend(task.next)
            for index in waiting.get(task.name, ()):
                sources, dest = graph.waiting_edges[index]
                seen = self._barriers.setdefault(index, set())
                seen.add(task.name)
                if len(seen) == len(sources):
                    seen.clear()
                    targets.append(dest)
                    joins.setdefault(dest, []).append(f"join:{'+'.join(sources)}:{dest}")
        return self._make_tasks(targets, joins)

    def _make_tasks(self, targets: list[str | Send], joins: dict[str, list[str]]) -> list[Task]:
        if not targets:
            return []
        graph = self.graph
        nodes = graph.nodes
        if len(targets) == 1 and not joins:
            # The common case of a chain: one successor, reached by an edge.
            name = targets[0]
            if type(name) is str:
                if name == END:
                    return []
                triggers, path, key = graph.pull_info[name]
                return [Task(nodes[name], graph.node_views[name](self.values), triggers, path, key)]
        push: list[Task] = []
        pull: set[str] = set()
        for target in targets:
            if type(target) is str:
                if target != END:
                    pull.add(target)
            else:
                assert isinstance(target, Send)
                index = len(push)
                push.append(
                    Task(
                        nodes[target.node],
                        target.arg,
                        ("__pregel_push",),
                        ("__pregel_push", index, False),
                        (1, index),
                    )
                )
        if not pull:
            return push
        views = graph.node_views
        values = self.values
        pull_info = graph.pull_info
        for name in sorted(pull):
            triggers, path, key = pull_info[name]
            if joins:
                triggers = (*triggers, *joins.get(name, ()))
            push.append(Task(nodes[name], views[name](values), triggers, path, key))
        return push

    async def _route(
        self, branch: Branch, task: Task, ctx: NodeContext, fresh: dict[str, Any]
    ) -> list[str | Send]:
        """Call a conditional edge's path function and check what it returned."""
        arg = self.graph.state_schema.view(fresh)
        path = branch.path
        child: dict[str, Any] | None = None
        if self.events:
            child = self._child_event_base(ctx, branch.name, task.name == START)
            self._put_event(child, "on_chain_start", {"input": arg})
        if branch.config_kw or branch.config_pos:
            config = ctx.config
            result = path(arg, config=config) if branch.config_kw else path(arg, config)
        else:
            result = path(arg)
        if branch.is_async:
            result = await result
        if child is not None:
            self._put_event(child, "on_chain_end", {"output": result, "input": arg})
        where = f"the conditional edge {branch.name!r} from {task.name!r}"
        if result is None:
            raise InvalidUpdateError(
                f"{where} returned None; return a node name, END, a list of them, or Send objects"
            )
        items = result if isinstance(result, (list, tuple)) else (result,)
        targets: list[str | Send] = []
        nodes = self.graph.nodes
        for item in items:
            if isinstance(item, Send):
                if item.node not in nodes:
                    raise InvalidUpdateError(
                        f"{where} sent Send({item.node!r}, ...) to a node that does not exist; "
                        f"the nodes are {', '.join(map(repr, nodes))}"
                    )
                targets.append(item)
                continue
            dest = item
            if branch.path_map is not None:
                if item not in branch.path_map:
                    raise InvalidUpdateError(
                        f"{where} returned {item!r}, which is not a key of its path_map "
                        f"{branch.path_map!r}; add it to the path_map or return one of its keys"
                    )
                dest = branch.path_map[item]
            if dest == END:
                continue
            if not isinstance(dest, str) or dest not in nodes:
                raise InvalidUpdateError(
                    f"{where} returned {item!r}, which is not a node; return one of "
                    f"{', '.join(map(repr, nodes))} or END"
                )
            targets.append(dest)
        return targets

    # -- one task ------------------------------------------------------------------------

    async def _run_task(self, task: Task) -> None:
        node = task.node
        ctx = NodeContext(self, task)
        events = self.events
        if events:
            ctx.run_id = new_id()
            self._node_event(ctx, "on_chain_start", {"input": task.input})
        token = set_current(ctx)
        langchain = _langchain_support()
        if langchain is not None:
            lc_token, seen = langchain.enter_node(ctx, task.input)
        try:
            if node.timeout is None and node.retry_policy is None:
                result = await self._call(node, task.input, ctx)
            else:
                result = await run_attempts(
                    task.name,
                    functools.partial(self._call, node, task.input, ctx),
                    node.timeout,
                    node.retry_policy,
                )
            await self._collect(task, ctx, result)
        except GraphInterrupt as exc:
            if self.parent is not None:
                raise  # the root task of the run owns interrupts and resumes
            task.interrupts = list(exc.interrupts)
            if "tasks" in self.modes or "debug" in self.modes:
                self._emit_task_result(task, None)
            if self.saver is not None:
                with anyio.CancelScope(shield=True):
                    await self._record(task, "interrupted")
            return
        except Exception as exc:
            if not isinstance(exc, ParentCommand):
                exc.add_note(f"During task with name '{task.name}' and id '{task.id}'")
                if "tasks" in self.modes or "debug" in self.modes:
                    self._emit_task_result(task, exc)
            raise
        finally:
            reset_current(token)
            if langchain is not None:
                langchain.exit_node(lc_token)
        task.done = True
        if self.saver is not None and self._step_size > 1:
            # Siblings may still run: store this task's outcome now, so that a crash or a
            # cancellation does not make it run again. (A step's only task is stored by
            # the checkpoint that follows it.)
            with anyio.CancelScope(shield=True):
                await self._record(task, "done")
        if events:
            self._node_event(ctx, "on_chain_stream", {"chunk": result})
            self._node_event(ctx, "on_chain_end", {"output": result, "input": task.input})
        modes = self.modes
        if langchain is not None and seen is not None:
            langchain.emit_output_messages(ctx, task.update, seen)
        if "updates" in modes:
            self.sink(self.ns, "updates", {task.name: task.update})
        if "tasks" in modes or "debug" in modes:
            self._emit_task_result(task, None)

    async def _call(self, node: NodeSpec, arg: Any, ctx: NodeContext) -> Any:
        kind = node.kind
        fn = node.fn
        if kind == "async" or kind == "sync":
            kwargs: dict[str, Any] = {}
            if node.config_kw:
                kwargs["config"] = ctx.config
            if node.writer_kw:
                kwargs["writer"] = ctx.write_custom
            if node.runtime_kw:
                kwargs["runtime"] = ctx.runtime
            args = (arg, ctx.config) if node.config_pos else (arg,)
            if kind == "async":
                return await fn(*args, **kwargs)
            return await _in_worker_thread(functools.partial(fn, *args, **kwargs))
        if kind == "graph":
            try:
                return await fn.run_as_node(arg, ctx)
            except ParentCommand as parent:
                command = parent.command
                return Command(update=command.update, goto=command.goto, resume=command.resume)
        return await fn.ainvoke(arg, ctx.config)

    async def _collect(self, task: Task, ctx: NodeContext, result: Any) -> None:
        """Turn a node's return value into writes and routing; evaluate its branches."""
        graph = self.graph
        name = task.name
        gotos: Sequence[Any] = ()
        if result is None:
            update = None
        elif type(result) is dict or isinstance(result, Mapping):
            update = result
        elif isinstance(result, Command) or (
            isinstance(result, (list, tuple))
            and result
            and all(isinstance(c, Command) for c in result)
        ):
            update, gotos = self._from_commands(task, result)
        else:
            update = graph.state_schema.object_to_update(result)
            if update is None:
                raise InvalidUpdateError(
                    f"Expected dict, got {result}: node {name!r} must return a dict of state "
                    "updates, a Command, or None\n"
                    f"For troubleshooting, visit: {TROUBLESHOOTING}INVALID_GRAPH_NODE_RETURN_VALUE"
                )
        if update:
            channels = graph.reducers
            if task.node.kind == "graph":
                update = {k: v for k, v in update.items() if k in channels}
            elif not update.keys() <= channels.keys():
                unknown = [k for k in update if k not in channels]
                raise InvalidUpdateError(
                    f"node {name!r} wrote the key {unknown[0]!r}, which is not in the state "
                    f"schema {graph.state_schema.name}; add {unknown[0]!r} to the schema or "
                    "stop returning it"
                )
            task.writes = list(update.items())
            task.update = update
        else:
            task.update = None
        nxt = task.next
        nxt.extend(graph.edges_from.get(name, ()))
        for goto in gotos:
            nxt.append(self._check_goto(name, goto))
        branches = graph.branches.get(name)
        if branches:
            fresh = self.values
            if task.writes:
                fresh = dict(fresh)
                reducers = graph.reducers
                for key, value in task.writes:
                    reducer = reducers[key]
                    current = fresh.get(key, MISSING)
                    fresh[key] = (
                        value if reducer is None or current is MISSING else reducer(current, value)
                    )
            for branch in branches:
                nxt.extend(await self._route(branch, task, ctx, fresh))

    def _from_commands(self, task: Task, result: Any) -> tuple[Any, list[Any]]:
        commands = [result] if isinstance(result, Command) else list(result)
        update: dict[str, Any] = {}
        gotos: list[Any] = []
        for command in commands:
            if command.graph == Command.PARENT:
                if self.parent is None:
                    raise InvalidUpdateError(
                        f"node {task.name!r} returned Command(graph=Command.PARENT) but this "
                        "graph is not a subgraph; drop graph=Command.PARENT"
                    )
                raise ParentCommand(command)
            if command.graph is not None:
                raise InvalidUpdateError(
                    f"node {task.name!r} returned Command(graph={command.graph!r}); graph must "
                    "be None or Command.PARENT"
                )
            cu = command.update
            if cu is None:
                pass
            elif isinstance(cu, Mapping) or (
                isinstance(cu, (list, tuple))
                and all(isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) for t in cu)
            ):
                update.update(cu)
            else:
                obj = self.graph.state_schema.object_to_update(cu)
                if obj is None:
                    raise InvalidUpdateError(
                        f"node {task.name!r} returned Command(update={cu!r}); the update must "
                        "be a dict of state keys, a list of (key, value) pairs, or None"
                    )
                update.update(obj)
            goto = command.goto
            if isinstance(goto, (str, Send)):
                gotos.append(goto)
            else:
                gotos.extend(goto)
        return update, gotos

    def _check_goto(self, name: str, goto: Any) -> str | Send:
        nodes = self.graph.nodes
        target = goto.node if isinstance(goto, Send) else goto
        if target == END and not isinstance(goto, Send):
            return END
        if not isinstance(target, str) or target not in nodes:
            raise InvalidUpdateError(
                f"node {name!r} returned Command(goto={goto!r}), but {target!r} is not a node; "
                f"go to one of {', '.join(map(repr, nodes))} or END"
            )
        return goto  # type: ignore[no-any-return]

    # -- stream chunks ---------------------------------------------------------------------

    def _emit_task_start(self, task: Task) -> None:
        payload = {"id": task.id, "name": task.name, "input": task.input, "triggers": task.triggers}
        if "tasks" in self.modes:
            self.sink(self.ns, "tasks", payload)
        if "debug" in self.modes:
            self.sink(
                self.ns,
                "debug",
                {"step": self.step, "timestamp": _now(), "type": "task", "payload": payload},
            )

    def _emit_task_result(self, task: Task, error: BaseException | None) -> None:
        payload: dict[str, Any] = {
            "id": task.id,
            "name": task.name,
            "error": error,
            "result": {} if error is not None or task.interrupts else dict(task.writes),
            "interrupts": [dataclasses.asdict(i) for i in task.interrupts],
        }
        if "tasks" in self.modes:
            self.sink(self.ns, "tasks", payload)
        if "debug" in self.modes:
            self.sink(
                self.ns,
                "debug",
                {"step": self.step, "timestamp": _now(), "type": "task_result", "payload": payload},
            )

    # -- astream_events ------------------------------------------------------------------

    def _root_event(self, event: str, data: dict[str, Any]) -> None:
        assert self.output is not None
        if self.parent is None:
            metadata = {**self.user_metadata, "ls_integration": "langgraph"}
            tags = self.user_tags
            parent_ids: list[str] = []
        else:
            parent = self.parent
            metadata = {
                **parent.run.event_metadata(parent),
                "checkpoint_ns": parent.checkpoint_ns,
            }
            tags = ["seq:step:1", *self.user_tags]
            parent_ids = [*self.parent.parent_ids, self.parent.run_id or ""]
        self.output.put(
            {
                "event": event,
                "data": data,
                "name": self.run_name,
                "tags": tags,
                "run_id": self.run_id,
                "metadata": metadata,
                "parent_ids": parent_ids,
            }
        )

    def event_metadata(self, ctx: NodeContext) -> dict[str, Any]:
        md = {"ls_integration": "langgraph", **ctx.metadata}
        if self.parent is not None:
            md["checkpoint_ns"] = self.checkpoint_ns
        return md

    def _node_event(
        self, ctx: NodeContext, event: str, data: dict[str, Any], *, hidden: bool = False
    ) -> None:
        assert self.output is not None
        if ctx.run_id is None:
            ctx.run_id = new_id()
        tags = [f"graph:step:{self.step}", *self.user_tags]
        if hidden:
            tags.insert(1, "langsmith:hidden")
        self.output.put(
            {
                "event": event,
                "data": data,
                "name": ctx.task.name,
                "tags": tags,
                "run_id": ctx.run_id,
                "metadata": self.event_metadata(ctx),
                "parent_ids": ctx.parent_ids,
            }
        )

    def _child_event_base(self, ctx: NodeContext, name: str, hidden: bool) -> dict[str, Any]:
        tags = ["seq:step:2" if hidden else "seq:step:3", *self.user_tags]
        if hidden:
            tags.insert(1, "langsmith:hidden")
        return {
            "name": "Unnamed" if name == "condition" else name,
            "tags": tags,
            "run_id": new_id(),
            "metadata": self.event_metadata(ctx),
            "parent_ids": [*ctx.parent_ids, ctx.run_id or ""],
        }

    def _put_event(self, base: dict[str, Any], event: str, data: dict[str, Any]) -> None:
        assert self.output is not None
        self.output.put({"event": event, "data": data, **base})


async def _in_worker_thread(call: Callable[[], Any]) -> Any:
    """Run a sync node in a worker thread, hosted by a task group of its own.

    The task group matters when the node runs inline in the caller's task and that task
    receives a raw ``Task.cancel()``: anyio then cancels the group's scope (so the
    thread's ``check_cancelled()`` sees it) and keeps waiting for the thread, instead of
    abandoning it.
    """
    result: Any = None
    error: Exception | None = None

    async def run() -> None:
        nonlocal result, error
        try:
            result = await anyio.to_thread.run_sync(call)
        except Exception as exc:
            error = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
    if error is not None:
        raise error
    return result


def _sort_key(task: Task) -> tuple[int, Any]:
    return task.sort_key
