"""One task of a superstep: a node called with its input, and what came of it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from .._errors import NodeError, ParentCommand
from .._ids import new_id
from .._spec import NodeSpec
from .._types import Interrupt, Send
from ..checkpoint._base import TaskRecord, TaskStatus

__all__ = ("ParentCommand", "Task", "planned_paths", "result_of", "sort_key", "task_id")


class Task:
    __slots__ = (
        "_id",
        "answered",
        "done",
        "error",
        "failed_at",
        "failure",
        "input",
        "interrupt_index",
        "interrupted",
        "interrupts",
        "name",
        "next",
        "node",
        "path",
        "recorded",
        "restored",
        "resume",
        "resuming",
        "sort_key",
        "subgraph_calls",
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
        self.failure: NodeError | None = None
        """The node's failure, once the task is its error handler's."""
        self.done = False
        self.restored = False
        self.recorded = False
        self.interrupted = False
        """The node stopped at an ``interrupt()`` (its own or a subgraph's, which may be
        a static one without ``interrupts``)."""
        self.interrupts: list[Interrupt] = []
        self.answered: list[Interrupt] = []
        """The interrupts a resumed task stopped at before: its record keeps them once
        it is done (LangGraph's history shows a task's interrupts with its result)."""
        self.resume: list[Any] = []
        """The answers its ``interrupt()`` calls got so far, in order."""
        self.subgraph_calls = 0
        """How many subgraph runs the node started: the second and later ones get a
        namespace of their own (``node:task_id|1``...), as in LangGraph."""
        self.resuming = False
        """The task was interrupted and runs again: its subgraphs resume where they
        stopped, from their checkpoints."""
        self.interrupt_index = 0

    def restore(self, record: TaskRecord) -> None:
        """Take a finished task's outcome from its stored record instead of running it."""
        self.writes = list(record.writes)
        self.update = dict(record.writes) or None
        self.next = list(record.next)
        self.done = self.restored = self.recorded = True

    def hand_to_error_handler(self, handler: NodeSpec, failure: NodeError) -> None:
        """The node failed for good: the task (same id, input and place in the step)
        now runs its error handler, which receives ``failure``."""
        self.node = handler
        self.name = handler.name
        self.failure = failure

    def record(self, status: TaskStatus, error: BaseException | None = None) -> TaskRecord:
        return TaskRecord(
            task_id=self.id,
            name=self.name,
            path=self.path,
            status=status,
            writes=list(self.writes) if status == "done" else [],
            next=list(self.next) if status == "done" else [],
            interrupts=list(self.interrupts or (self.answered if status == "done" else ())),
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


def sort_key(task: Task) -> tuple[int, Any]:
    """The order a step's writes are applied in: edge-triggered nodes by name, then
    ``Send`` tasks in the order they were sent (LangGraph's order)."""
    return task.sort_key


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


def task_id(checkpoint_id: str, path: tuple[Any, ...]) -> str:
    """The id of a task, derived from its checkpoint and path, so a resumed run finds the
    records of the tasks it planned."""
    h = hashlib.md5(f"{checkpoint_id}|{path!r}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def result_of(writes: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """A task's writes as its ``result`` (LangGraph's shape): ``{key: value}``, and
    ``{key: {"$writes": [value, ...]}}`` for a key it wrote more than once."""
    result = dict(writes)
    if len(result) < len(writes):
        several: dict[str, list[Any]] = {}
        for key, value in writes:
            several.setdefault(key, []).append(value)
        for key, values in several.items():
            if len(values) > 1:
                result[key] = {"$writes": values}
    return result
