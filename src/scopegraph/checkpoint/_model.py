"""What a saver stores, and how it fails.

A saver stores two things per thread (and per checkpoint namespace, ``""`` for the root
graph):

- **checkpoints**, one per superstep: the state after the step, the tasks planned for the
  next step, join-edge progress and metadata; each names its parent checkpoint;
- **task records** ("pending writes"), attached to a checkpoint: what each task of the
  step after that checkpoint did — finished with writes, was interrupted, failed, or was
  cancelled. A resumed run re-uses the writes of finished tasks and re-runs the others.

Savers are dumb stores: the runtime decides what to write and when. Values are encoded
by :mod:`._serde` (JSON with typed extensions; never pickle). This module holds the data
types, the checkpoint errors and the messages every saver fails with; the saver
interface is :class:`._base.BaseCheckpointSaver`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from .._errors import ScopegraphError

__all__ = (
    "SCHEMA_VERSION",
    "Checkpoint",
    "CheckpointConflictError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointTuple",
    "CorruptCheckpointError",
    "SchemaVersionError",
    "SerializationError",
    "TaskRecord",
    "TaskStatus",
    "check_limit",
    "conflict_error",
    "describe_checkpoint",
    "not_found_error",
)

SCHEMA_VERSION = 1
"""Version of the stored layout (tables and encoded documents). Bumped on every change."""


class CheckpointError(ScopegraphError):
    """Base class of checkpoint errors."""


class CheckpointNotFoundError(CheckpointError, KeyError):
    """The thread or checkpoint id in the config does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class CheckpointConflictError(CheckpointError):
    """Another run wrote to the thread since this run last read it; nothing was written."""


class CorruptCheckpointError(CheckpointError):
    """A stored row or blob cannot be decoded; it is left untouched."""


class SchemaVersionError(CheckpointError):
    """The store was written by a newer scopegraph release; nothing is changed."""


class SerializationError(CheckpointError, TypeError):
    """A value cannot be stored; raised before anything of the write is stored."""


TaskStatus = Literal["done", "interrupted", "error", "cancelled"]


@dataclasses.dataclass(frozen=True, slots=True)
class TaskRecord:
    """What one task of a step did (LangGraph's "pending writes")."""

    task_id: str
    name: str
    path: tuple[Any, ...]
    status: TaskStatus
    writes: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    next: list[Any] = dataclasses.field(default_factory=list)
    """Where the task routed (node names and ``Send``\\ s), as its edges decided."""
    interrupts: list[Any] = dataclasses.field(default_factory=list)
    error: str | None = None
    resume: list[Any] = dataclasses.field(default_factory=list)
    """Resume values an interrupted task has been given so far, in order."""


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state of a thread after one superstep."""

    id: str
    parent_id: str | None
    step: int
    created_at: str
    values: dict[str, Any]
    next: list[Any]
    """The tasks planned for the next step: ``("pull", name, triggers)`` or
    ``("push", node, arg)``."""
    barriers: dict[str, list[str]]
    metadata: dict[str, Any]
    writers: list[str] = dataclasses.field(default_factory=list)
    """A loop step's: the nodes whose writes made it (``update_state`` without
    ``as_node`` attributes the update to the one that wrote last, as LangGraph)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CheckpointTuple:
    """A checkpoint with the task records of the step that followed it."""

    thread_id: str
    ns: str
    checkpoint: Checkpoint
    tasks: Sequence[TaskRecord]

    @property
    def config(self) -> dict[str, Any]:
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.ns,
                "checkpoint_id": self.checkpoint.id,
            }
        }

    @property
    def metadata(self) -> dict[str, Any]:
        """The checkpoint's metadata (``source``, ``step``, ``parents``...), as LangGraph's
        ``CheckpointTuple.metadata``."""
        return self.checkpoint.metadata

    @property
    def parent_config(self) -> dict[str, Any] | None:
        if self.checkpoint.parent_id is None:
            return None
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.ns,
                "checkpoint_id": self.checkpoint.parent_id,
            }
        }


# -- messages shared by the savers, so that every saver fails the same way -------------


def describe_checkpoint(thread_id: str, ns: str, checkpoint_id: str) -> str:
    """``checkpoint 'x' of thread 't'`` (with the namespace when it is not the root)."""
    where = f"thread {thread_id!r}" if not ns else f"thread {thread_id!r} (namespace {ns!r})"
    return f"checkpoint {checkpoint_id!r} of {where}"


def not_found_error(thread_id: str, ns: str, checkpoint_id: str) -> CheckpointNotFoundError:
    return CheckpointNotFoundError(
        f"{describe_checkpoint(thread_id, ns, checkpoint_id)} does not exist; "
        "saver.list(thread_id) shows the checkpoints the thread has"
    )


def conflict_error(
    thread_id: str, ns: str, checkpoint: Checkpoint, expected: str | None, head: str | None
) -> CheckpointConflictError:
    where = f"thread {thread_id!r}" if not ns else f"thread {thread_id!r} (namespace {ns!r})"
    if head is not None and head == expected:
        return CheckpointConflictError(
            f"{describe_checkpoint(thread_id, ns, checkpoint.id)} already exists; nothing "
            "was written (a checkpoint id is stored once)"
        )
    found = "has no checkpoint" if head is None else f"has newest checkpoint {head!r}"
    wanted = "no checkpoint" if expected is None else f"newest checkpoint {expected!r}"
    return CheckpointConflictError(
        f"{where} was written by another run: it {found}, but this run expected {wanted}; "
        f"checkpoint {checkpoint.id!r} was not written. Read the thread again and retry"
    )


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, not {limit!r}")
