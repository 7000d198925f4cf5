"""``InMemorySaver``: checkpoints in a dict, for tests and short-lived programs.

It stores the same encoded bytes as the persistent savers (the :class:`~._base.BaseCheckpointSaver`
base encodes and decodes through :mod:`._codec`), so a value that cannot be serialized
fails here exactly as it would in production, and what is read back is a fresh copy,
never the object that was stored. It is also the smallest example of a saver: five row
operations over two dicts.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Sequence

from ._base import BaseCheckpointSaver, Inline, Row, Write, conflict_error, not_found_error

__all__ = ("InMemorySaver",)


@dataclasses.dataclass(slots=True)
class _Namespace:
    """One (thread, namespace): its checkpoints, oldest first, and their task records."""

    checkpoints: dict[str, bytes] = dataclasses.field(default_factory=dict)
    tasks: dict[str, dict[str, bytes]] = dataclasses.field(default_factory=dict)

    def row(self, checkpoint_id: str) -> Row:
        tasks = self.tasks.get(checkpoint_id)
        return checkpoint_id, self.checkpoints[checkpoint_id], list(tasks.items()) if tasks else []


class InMemorySaver(BaseCheckpointSaver):
    """Keeps checkpoints in process memory; they are lost when the process exits.

    Safe to use from several threads and tasks at once (one ``threading.Lock``, held only
    to read or update the dicts: encoding and decoding happen outside it). The async
    methods run directly on the event loop: no operation awaits anything.

    Example::

        saver = InMemorySaver()
        graph = builder.compile(checkpointer=saver)
    """

    writes_inline = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[str, dict[str, _Namespace]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threads={len(self._threads)})"

    def _space(self, thread_id: str, ns: str) -> _Namespace | None:
        return self._threads.get(thread_id, {}).get(ns)

    def _namespaces(self, thread_id: str) -> list[str]:
        with self._lock:
            return list(self._threads.get(thread_id, {}))

    # -- row I/O -----------------------------------------------------------------------

    def _read(self, thread_id: str, ns: str, checkpoint_id: str | None) -> Inline[Row | None]:
        return Inline(functools.partial(self._read_now, thread_id, ns, checkpoint_id))

    def _read_page(
        self, thread_id: str, ns: str, before: str | None, limit: int | None
    ) -> Inline[Sequence[Row]]:
        return Inline(functools.partial(self._read_page_now, thread_id, ns, before, limit))

    def _write(self, write: Write) -> Inline[None]:
        return Inline(functools.partial(self._write_now, write))

    def _write_task(
        self, thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes
    ) -> Inline[None]:
        args = (thread_id, ns, checkpoint_id, task_id, data)
        return Inline(functools.partial(self._write_task_now, *args))

    def _delete(self, thread_id: str) -> Inline[None]:
        return Inline(functools.partial(self._delete_now, thread_id))

    # -- the operations, under the lock ------------------------------------------------

    def _read_now(self, thread_id: str, ns: str, checkpoint_id: str | None) -> Row | None:
        with self._lock:
            space = self._space(thread_id, ns)
            if checkpoint_id is None:
                if space is None or not space.checkpoints:
                    return None
                checkpoint_id = next(reversed(space.checkpoints))
            elif space is None or checkpoint_id not in space.checkpoints:
                raise not_found_error(thread_id, ns, checkpoint_id)
            return space.row(checkpoint_id)

    def _read_page_now(
        self, thread_id: str, ns: str, before: str | None, limit: int | None
    ) -> list[Row]:
        with self._lock:
            space = self._space(thread_id, ns)
            if space is None:
                if before is not None:
                    raise not_found_error(thread_id, ns, before)
                return []
            ids = list(reversed(space.checkpoints))
            if before is not None:
                try:
                    ids = ids[ids.index(before) + 1 :]
                except ValueError:
                    raise not_found_error(thread_id, ns, before) from None
            return [space.row(checkpoint_id) for checkpoint_id in ids[:limit]]

    def _write_now(self, write: Write) -> None:
        thread_id, ns, checkpoint = write.thread_id, write.ns, write.checkpoint
        with self._lock:
            space = self._space(thread_id, ns)
            head = next(reversed(space.checkpoints)) if space and space.checkpoints else None
            if head != write.expected_latest or (space and checkpoint.id in space.checkpoints):
                raise conflict_error(thread_id, ns, checkpoint, write.expected_latest, head)
            if space is None:
                space = self._threads.setdefault(thread_id, {}).setdefault(ns, _Namespace())
            space.checkpoints[checkpoint.id] = write.data
            if write.records and checkpoint.parent_id is not None:
                space.tasks.setdefault(checkpoint.parent_id, {}).update(write.records)

    def _write_task_now(
        self, thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes
    ) -> None:
        with self._lock:
            space = self._space(thread_id, ns)
            if space is None or checkpoint_id not in space.checkpoints:
                raise not_found_error(thread_id, ns, checkpoint_id)
            # Replacing keeps the record's place: records are listed in first-write order.
            space.tasks.setdefault(checkpoint_id, {})[task_id] = data

    def _delete_now(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(thread_id, None)
