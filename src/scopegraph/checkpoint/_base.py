"""The saver interface: ``BaseCheckpointSaver`` owns the sync/async twins; savers do row I/O.

The shape of httpx's ``BaseClient`` / ``Client`` / ``AsyncClient``: what is the same for
every saver and for both APIs is written once here: validating arguments, encoding
checkpoints and task records before any I/O (so that SerializationError leaves nothing
stored), decoding rows (CorruptCheckpointError names the thread and checkpoint), and
the public methods ``get_tuple``/``aget_tuple``, ``list``/``alist``, ``put``/``aput``,
``put_task``/``aput_task``, ``delete_thread``/``adelete_thread``, ``setup``/``asetup``,
and the (async) context manager. Savers are dumb stores: the runtime decides what to
write and when. What they store, and the errors, are in :mod:`._model`.

A new saver is a page of code: it subclasses :class:`BaseCheckpointSaver` and
implements the five row operations below, each of which returns a :class:`RowCall` (an
object that runs the operation from sync code, ``run()``, and from async code,
``arun()``; :class:`Inline` runs a plain function, on the event loop or in a worker
thread):

- ``_read(thread_id, ns, checkpoint_id)``: the checkpoint row (the newest when
  ``checkpoint_id`` is None) as ``(checkpoint_id, data, [(task_id, data), ...])``, or
  None when the thread has none; :func:`not_found_error` for a missing id;
- ``_read_page(thread_id, ns, before, limit)``: such rows, newest first, older than
  ``before`` (not_found_error if it does not exist), at most ``limit`` (None: all);
- ``_write(write)``: store a :class:`Write` (the encoded checkpoint, and the encoded
  task records of its parent) atomically if the thread's head is still
  ``write.expected_latest``, else :func:`conflict_error`;
- ``_write_task(thread_id, ns, checkpoint_id, task_id, data)``: upsert one record
  (not_found_error when the checkpoint does not exist);
- ``_delete(thread_id)``: every row of the thread.

and, if it holds connections, ``_prepare()`` (a RowCall that connects and creates the
schema) and ``close``/``aclose``. :class:`~._memory.InMemorySaver` is the smallest
example (two dicts and a lock); :class:`~._sqlite.SqliteSaver` runs sqlite3 functions
through :class:`Inline`, and :class:`~._postgres.PostgresSaver` runs the same SQL
generators on a sync or an async connection.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, NoReturn, Protocol, Self, TypeVar, overload

import anyio.to_thread

from ._codec import decode_tuple, encode_checkpoint, encode_task
from ._langgraph_api import LangGraphCheckpointTuple, as_langgraph, config_parts, matching
from ._model import SCHEMA_VERSION as SCHEMA_VERSION
from ._model import Checkpoint as Checkpoint
from ._model import CheckpointConflictError as CheckpointConflictError
from ._model import CheckpointError as CheckpointError
from ._model import CheckpointNotFoundError as CheckpointNotFoundError
from ._model import CheckpointTuple as CheckpointTuple
from ._model import CorruptCheckpointError as CorruptCheckpointError
from ._model import SchemaVersionError as SchemaVersionError
from ._model import SerializationError as SerializationError
from ._model import TaskRecord as TaskRecord
from ._model import TaskStatus as TaskStatus
from ._model import check_limit as check_limit
from ._model import conflict_error as conflict_error
from ._model import describe_checkpoint as describe_checkpoint
from ._model import not_found_error as not_found_error

__all__ = (
    "SCHEMA_VERSION",
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointConflictError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointTuple",
    "CorruptCheckpointError",
    "Inline",
    "LangGraphPut",
    "Row",
    "RowCall",
    "SchemaVersionError",
    "SerializationError",
    "TaskRecord",
    "Write",
    "langgraph_put_args",
    "overrides_langgraph_aput",
)

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

Row = tuple[str, bytes, Sequence[tuple[str, bytes]]]
"""A stored checkpoint: its id, its document, and its task records ``(task_id, data)``
in the order they were first written."""


_REQUIRED: Any = object()

_NO_PENDING_WRITES = (
    "scopegraph's savers keep no pending writes: a run stores each task's outcome as a task "
    "record (aput_task(thread_id, ns, checkpoint_id, TaskRecord)), and the writes of a "
    "finished task are read back as pending_writes by get_tuple(config)"
)


class LangGraphPut(dict[str, Any]):
    """LangGraph's checkpoint dict for a run's write, carrying the write itself
    (``scopegraph_write``) for the base ``aput`` that the saver's override calls."""

    scopegraph_write: Write


def _langgraph_config(write: Write) -> dict[str, Any]:
    return {
        "configurable": {
            "thread_id": write.thread_id,
            "checkpoint_ns": write.ns,
            "checkpoint_id": write.checkpoint.id,
        }
    }


_LANGGRAPH_APUT: dict[Any, bool] = {}


def overrides_langgraph_aput(saver: BaseCheckpointSaver) -> bool:
    """Whether the saver's class overrides ``aput`` with LangGraph's signature
    (``aput(self, config, checkpoint, metadata, new_versions)``): a saver written for
    LangGraph's API (a test's, a wrapper's) that a run must call LangGraph's way.
    Known per function (a class whose ``aput`` is replaced is asked again)."""
    method = type(saver).aput
    found = _LANGGRAPH_APUT.get(method)
    if found is None:
        found = False
        if method is not BaseCheckpointSaver.aput:
            params = list(inspect.signature(method).parameters)
            found = len(params) > 1 and params[1] == "config"
        _LANGGRAPH_APUT[method] = found
    return found


def langgraph_put_args(
    thread_id: str,
    ns: str,
    checkpoint: Checkpoint,
    expected_latest: str | None,
    parent_records: Sequence[TaskRecord],
) -> tuple[dict[str, Any], LangGraphPut, dict[str, Any], dict[str, Any]]:
    """``(config, checkpoint, metadata, new_versions)`` of LangGraph's ``aput`` for a
    run's write (encoded first: a SerializationError leaves nothing stored)."""
    write = Write.encode(thread_id, ns, checkpoint, expected_latest, parent_records)
    config = {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint.parent_id,
        }
    }
    document = LangGraphPut(
        v=4,
        id=checkpoint.id,
        ts=checkpoint.created_at,
        channel_values=dict(checkpoint.values),
        channel_versions={},
        versions_seen={},
        updated_channels=None,
    )
    document.scopegraph_write = write
    return config, document, dict(checkpoint.metadata), {}


@dataclasses.dataclass(frozen=True, slots=True)
class Write:
    """A checkpoint to store, encoded, with the task records of the step that led to it
    (stored under ``checkpoint.parent_id``)."""

    thread_id: str
    ns: str
    checkpoint: Checkpoint
    data: bytes
    expected_latest: str | None
    records: Sequence[tuple[str, bytes]]
    """``(task_id, encoded record)`` pairs; stored only if the checkpoint has a parent."""

    @classmethod
    def encode(
        cls,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord],
    ) -> Write:
        """Encode everything first: SerializationError (naming the channel) leaves nothing
        stored."""
        data = encode_checkpoint(checkpoint)
        records = [(r.task_id, encode_task(r)) for r in parent_records]
        if checkpoint.parent_id is None:  # nowhere to attach them (still validated above)
            records = []
        return cls(thread_id, ns, checkpoint, data, expected_latest, records)


class RowCall(Protocol[_T_co]):
    """One row operation, ready to run from sync or async code."""

    def run(self) -> _T_co: ...

    def arun(self) -> Awaitable[_T_co]: ...


class Inline(Generic[_T]):
    """A RowCall of a plain function: ``arun()`` calls it on the event loop, or in a
    worker thread (``anyio.to_thread``) when ``in_thread``."""

    __slots__ = ("_fn", "_in_thread")

    def __init__(self, fn: Callable[[], _T], *, in_thread: bool = False) -> None:
        self._fn = fn
        self._in_thread = in_thread

    def run(self) -> _T:
        return self._fn()

    async def arun(self) -> _T:
        if self._in_thread:
            return await anyio.to_thread.run_sync(self._fn)
        return self._fn()


_NOTHING: Inline[None] = Inline(lambda: None)


class BaseCheckpointSaver(abc.ABC):
    """The interface of every saver, written once for the sync and the async API; a
    saver implements the row operations (see the module docstring)."""

    writes_inline: bool = False
    """True when the async writes complete without awaiting I/O (in-memory, SQLite on the
    event loop): ``durability="async"`` then gains nothing from a background writer and
    writes in line, as ``"sync"`` does."""

    # -- row I/O: what a saver implements ----------------------------------------------

    @abc.abstractmethod
    def _read(self, thread_id: str, ns: str, checkpoint_id: str | None) -> RowCall[Row | None]:
        """The newest checkpoint row, or the one with ``checkpoint_id``."""

    @abc.abstractmethod
    def _read_page(
        self, thread_id: str, ns: str, before: str | None, limit: int | None
    ) -> RowCall[Sequence[Row]]:
        """Checkpoint rows, newest first."""

    @abc.abstractmethod
    def _write(self, write: Write) -> RowCall[None]:
        """Store a checkpoint (and its parent's task records) if the head is expected."""

    @abc.abstractmethod
    def _write_task(
        self, thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes
    ) -> RowCall[None]:
        """Upsert one task record of an existing checkpoint."""

    @abc.abstractmethod
    def _delete(self, thread_id: str) -> RowCall[None]:
        """Delete the thread's rows."""

    def _namespaces(self, thread_id: str) -> Sequence[str]:
        """The namespaces the thread has checkpoints in (LangGraph's ``list(config)``
        without a namespace lists them all); a saver that cannot tell lists the root's."""
        return [""]

    def _prepare(self) -> RowCall[None]:
        """Connect and create the schema (savers that connect lazily do it on first use)."""
        return _NOTHING

    # -- the public API, written once: sync ----------------------------------------------

    def setup(self) -> None:
        """Connect, and create or migrate the schema (also done on first use)."""
        self._prepare().run()

    @overload
    def get_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None: ...
    @overload
    def get_tuple(self, thread_id: Mapping[str, Any]) -> LangGraphCheckpointTuple | None: ...
    def get_tuple(
        self, thread_id: str | Mapping[str, Any], ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | LangGraphCheckpointTuple | None:
        """The newest checkpoint of the thread, or the one with ``checkpoint_id``; given
        a LangGraph config instead, LangGraph's ``CheckpointTuple`` (see
        :mod:`._langgraph_api`)."""
        if isinstance(thread_id, Mapping):
            thread, ns, checkpoint_id = config_parts(thread_id, "get_tuple()")
            found = self.get_tuple(thread, ns, checkpoint_id)
            return None if found is None else as_langgraph(found)
        return _decode_one(thread_id, ns, self._read(thread_id, ns, checkpoint_id).run())

    def get(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """LangGraph's ``get(config)``: the checkpoint as LangGraph's dict, or None."""
        found = self.get_tuple(config)
        return None if found is None else found.checkpoint

    @overload
    def list(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple]: ...
    @overload
    def list(
        self,
        thread_id: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Sequence[LangGraphCheckpointTuple]: ...
    def list(
        self,
        thread_id: str | Mapping[str, Any] | None,
        ns: str = "",
        *,
        filter: Mapping[str, Any] | None = None,
        before: str | Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple] | Sequence[LangGraphCheckpointTuple]:
        """The thread's checkpoints, newest first; given a LangGraph config instead,
        LangGraph's ``CheckpointTuple`` objects (``filter`` matches metadata)."""
        check_limit(limit)
        if not isinstance(thread_id, str):
            thread, ns, only = config_parts(thread_id, "list()")
            if only is not None:  # as LangGraph: a config with a checkpoint id lists it
                found = self.get_tuple(thread, ns, only)
                return matching([] if found is None else [found], filter, limit)
            start = config_parts(before, "list()")[2] if isinstance(before, Mapping) else None
            if "checkpoint_ns" in (thread_id or {}).get("configurable", {}) or start:
                return matching(self.list(thread, ns, before=start), filter, limit)
            # As LangGraph: a config without a namespace lists every namespace's.
            every = [t for space in self._namespaces(thread) for t in self.list(thread, space)]
            every.sort(key=lambda t: t.checkpoint.id, reverse=True)
            return matching(every, filter, limit)
        rows = self._read_page(thread_id, ns, _before_id(before), limit).run()
        return [decode_tuple(thread_id, ns, *row) for row in rows]

    def put(
        self,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        *,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord] = (),
    ) -> None:
        self._write(Write.encode(thread_id, ns, checkpoint, expected_latest, parent_records)).run()

    def put_task(self, thread_id: str, ns: str, checkpoint_id: str, record: TaskRecord) -> None:
        data = encode_task(record)
        self._write_task(thread_id, ns, checkpoint_id, record.task_id, data).run()

    def delete_thread(self, thread_id: str) -> None:
        self._delete(thread_id).run()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The saver is unusable afterwards."""

    def __enter__(self) -> Self:
        self.setup()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the public API, written once: async ---------------------------------------------

    async def asetup(self) -> None:
        """Connect, and create or migrate the schema (also done on first use)."""
        await self._prepare().arun()

    @overload
    async def aget_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None: ...
    @overload
    async def aget_tuple(self, thread_id: Mapping[str, Any]) -> LangGraphCheckpointTuple | None: ...
    async def aget_tuple(
        self, thread_id: str | Mapping[str, Any], ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | LangGraphCheckpointTuple | None:
        """The newest checkpoint of the thread, or the one with ``checkpoint_id``.

        ``None`` when the thread has no checkpoint; CheckpointNotFoundError when a given
        ``checkpoint_id`` does not exist in it. Given a LangGraph config instead,
        LangGraph's ``CheckpointTuple`` (see :mod:`._langgraph_api`).
        """
        if isinstance(thread_id, Mapping):
            thread, ns, checkpoint_id = config_parts(thread_id, "aget_tuple()")
            found = await self.aget_tuple(thread, ns, checkpoint_id)
            return None if found is None else as_langgraph(found)
        return _decode_one(thread_id, ns, await self._read(thread_id, ns, checkpoint_id).arun())

    async def aget(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """LangGraph's ``aget(config)``: the checkpoint as LangGraph's dict, or None."""
        found = await self.aget_tuple(config)
        return None if found is None else found.checkpoint

    @overload
    async def alist(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple]: ...
    @overload
    def alist(
        self,
        thread_id: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[LangGraphCheckpointTuple]: ...
    def alist(
        self,
        thread_id: str | Mapping[str, Any] | None,
        ns: str = "",
        *,
        filter: Mapping[str, Any] | None = None,
        before: str | Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Awaitable[Sequence[CheckpointTuple]] | AsyncIterator[LangGraphCheckpointTuple]:
        """The thread's checkpoints, newest first (awaited); given a LangGraph config
        instead, LangGraph's ``CheckpointTuple`` objects, for ``async for``."""
        check_limit(limit)
        if not isinstance(thread_id, str):
            return self._alist_langgraph(thread_id, filter, before, limit)
        return self._alist(thread_id, ns, _before_id(before), limit)

    async def _alist(
        self, thread_id: str, ns: str, before: str | None, limit: int | None
    ) -> Sequence[CheckpointTuple]:
        rows = await self._read_page(thread_id, ns, before, limit).arun()
        return [decode_tuple(thread_id, ns, *row) for row in rows]

    async def _alist_langgraph(
        self,
        config: Mapping[str, Any] | None,
        filter: Mapping[str, Any] | None,
        before: str | Mapping[str, Any] | None,
        limit: int | None,
    ) -> AsyncIterator[LangGraphCheckpointTuple]:
        thread, ns, only = config_parts(config, "alist()")
        if only is not None:  # as LangGraph: a config with a checkpoint id lists it
            one = await self.aget_tuple(thread, ns, only)
            tuples: Sequence[CheckpointTuple] = [] if one is None else [one]
        else:
            start = config_parts(before, "alist()")[2] if isinstance(before, Mapping) else None
            tuples = await self._alist(thread, ns, start, None)
        for found in matching(tuples, filter, limit):
            yield found

    @overload
    async def aput(
        self,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        *,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord] = (),
    ) -> None: ...

    @overload
    async def aput(
        self,
        thread_id: Mapping[str, Any],
        ns: Mapping[str, Any],
        checkpoint: Mapping[str, Any],
        new_versions: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    async def aput(
        self,
        thread_id: str | Mapping[str, Any],
        ns: str | Mapping[str, Any],
        checkpoint: Checkpoint | Mapping[str, Any],
        new_versions: Mapping[str, Any] | None = None,
        *,
        expected_latest: Any = _REQUIRED,
        parent_records: Sequence[TaskRecord] = (),
    ) -> dict[str, Any] | None:
        """Store a checkpoint if the thread's newest checkpoint is still ``expected_latest``.

        ``parent_records`` are task records of the step that led to this checkpoint; they
        are stored with it, atomically, under ``checkpoint.parent_id`` (one write where
        there would be two). Raises CheckpointConflictError when the head moved (another
        run wrote meanwhile), and SerializationError (naming the channel and type) if a
        value cannot be stored; in both cases nothing is stored.

        LangGraph's form, ``aput(config, checkpoint, metadata, new_versions)``, is what a
        run calls on a saver subclass that overrides ``aput`` with LangGraph's signature
        (:func:`langgraph_put_args`); its ``super().aput(...)`` stores the checkpoint the
        run handed over and returns the checkpoint's config.
        """
        if isinstance(thread_id, Mapping):
            write = getattr(ns, "scopegraph_write", None)
            if not isinstance(write, Write):
                raise TypeError(
                    "aput(config, checkpoint, metadata, new_versions) stores only the "
                    "checkpoints a scopegraph run hands to a saver subclass; to store one "
                    "yourself, call aput(thread_id, ns, Checkpoint(...), expected_latest=...)"
                )
            await self._write(write).arun()
            return _langgraph_config(write)
        if expected_latest is _REQUIRED:
            raise TypeError("aput() missing required keyword-only argument: 'expected_latest'")
        assert isinstance(ns, str)
        assert isinstance(checkpoint, Checkpoint)
        write = Write.encode(thread_id, ns, checkpoint, expected_latest, parent_records)
        await self._write(write).arun()
        return None

    def put_writes(self, *args: Any, **kwargs: Any) -> NoReturn:
        """LangGraph's pending writes, which scopegraph's savers do not keep."""
        raise NotImplementedError(_NO_PENDING_WRITES)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> NoReturn:
        """LangGraph's pending writes, which scopegraph's savers do not keep."""
        raise NotImplementedError(_NO_PENDING_WRITES)

    async def aput_task(
        self, thread_id: str, ns: str, checkpoint_id: str, record: TaskRecord
    ) -> None:
        """Store (or replace) the record of one task of the step after ``checkpoint_id``."""
        data = encode_task(record)
        await self._write_task(thread_id, ns, checkpoint_id, record.task_id, data).arun()

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and task record of the thread."""
        await self._delete(thread_id).arun()

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The saver is unusable afterwards."""

    async def __aenter__(self) -> Self:
        await self.asetup()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _before_id(before: str | Mapping[str, Any] | None) -> str | None:
    if isinstance(before, Mapping):
        return config_parts(before, "list()")[2]
    return before


def _decode_one(thread_id: str, ns: str, row: Row | None) -> CheckpointTuple | None:
    return None if row is None else decode_tuple(thread_id, ns, *row)
