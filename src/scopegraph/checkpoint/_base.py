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
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar

import anyio.to_thread

from ._codec import decode_tuple, encode_checkpoint, encode_task
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
    "Row",
    "RowCall",
    "SchemaVersionError",
    "SerializationError",
    "TaskRecord",
    "Write",
)

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

Row = tuple[str, bytes, Sequence[tuple[str, bytes]]]
"""A stored checkpoint: its id, its document, and its task records ``(task_id, data)``
in the order they were first written."""


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

    def _prepare(self) -> RowCall[None]:
        """Connect and create the schema (savers that connect lazily do it on first use)."""
        return _NOTHING

    # -- the public API, written once: sync ----------------------------------------------

    def setup(self) -> None:
        """Connect, and create or migrate the schema (also done on first use)."""
        self._prepare().run()

    def get_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        return _decode_one(thread_id, ns, self._read(thread_id, ns, checkpoint_id).run())

    def list(
        self,
        thread_id: str | Mapping[str, Any],
        ns: str = "",
        *,
        before: str | Mapping[str, Any] | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Sequence[CheckpointTuple]:
        """The thread's checkpoints, newest first (see :meth:`alist`)."""
        thread_id, ns, before = _listing_args(thread_id, ns, before)
        check_limit(limit)
        if filter:
            return _matching(self.list(thread_id, ns, before=before), filter, limit)
        rows = self._read_page(thread_id, ns, before, limit).run()
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

    async def aget_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        """The newest checkpoint of the thread, or the one with ``checkpoint_id``.

        ``None`` when the thread has no checkpoint; CheckpointNotFoundError when a given
        ``checkpoint_id`` does not exist in it.
        """
        return _decode_one(thread_id, ns, await self._read(thread_id, ns, checkpoint_id).arun())

    def alist(
        self,
        thread_id: str | Mapping[str, Any],
        ns: str = "",
        *,
        before: str | Mapping[str, Any] | None = None,
        limit: int | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Listing:
        """The thread's checkpoints, newest first: ``await`` it for a list, or iterate it
        with ``async for`` as LangGraph's ``alist``.

        The thread is ``thread_id`` (and ``ns``), or LangGraph's form: a config whose
        ``configurable`` names ``thread_id`` and ``checkpoint_ns``; ``before`` is a
        checkpoint id or a config naming one; ``filter`` keeps the checkpoints whose
        metadata has those values.
        """
        thread_id, ns, before = _listing_args(thread_id, ns, before)
        check_limit(limit)

        async def fetch() -> Sequence[CheckpointTuple]:
            if filter:
                return _matching(await self.alist(thread_id, ns, before=before), filter, limit)
            rows = await self._read_page(thread_id, ns, before, limit).arun()
            return [decode_tuple(thread_id, ns, *row) for row in rows]

        return Listing(fetch)

    async def aput(
        self,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        *,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord] = (),
    ) -> None:
        """Store a checkpoint if the thread's newest checkpoint is still ``expected_latest``.

        ``parent_records`` are task records of the step that led to this checkpoint; they
        are stored with it, atomically, under ``checkpoint.parent_id`` (one write where
        there would be two). Raises CheckpointConflictError when the head moved (another
        run wrote meanwhile), and SerializationError (naming the channel and type) if a
        value cannot be stored; in both cases nothing is stored.
        """
        write = Write.encode(thread_id, ns, checkpoint, expected_latest, parent_records)
        await self._write(write).arun()

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


def _decode_one(thread_id: str, ns: str, row: Row | None) -> CheckpointTuple | None:
    return None if row is None else decode_tuple(thread_id, ns, *row)


class Listing:
    """What :meth:`BaseCheckpointSaver.alist` returns: awaitable (the list) and
    async-iterable (LangGraph's ``async for tup in saver.alist(config)``)."""

    def __init__(self, fetch: Callable[[], Awaitable[Sequence[CheckpointTuple]]]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, Sequence[CheckpointTuple]]:
        return self._fetch().__await__()

    async def __aiter__(self) -> AsyncIterator[CheckpointTuple]:
        for tup in await self._fetch():
            yield tup


def _listing_args(
    thread: str | Mapping[str, Any], ns: str, before: str | Mapping[str, Any] | None
) -> tuple[str, str, str | None]:
    """``list``/``alist``'s thread, namespace and ``before`` id, from ids or configs."""
    if isinstance(thread, Mapping):
        configurable = thread.get("configurable") or {}
        thread, ns = str(configurable["thread_id"]), configurable.get("checkpoint_ns", "")
    if isinstance(before, Mapping):
        before = (before.get("configurable") or {}).get("checkpoint_id")
    return thread, ns, before


def _matching(
    tuples: Sequence[CheckpointTuple], filter: Mapping[str, Any], limit: int | None
) -> list[CheckpointTuple]:
    found = [t for t in tuples if all(t.metadata.get(k) == v for k, v in filter.items())]
    return found if limit is None else found[:limit]
