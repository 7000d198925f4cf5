"""``InMemorySaver``: checkpoints in a dict, for tests and short-lived programs.

It stores the same encoded bytes as the persistent savers (through :mod:`._codec`), so a
value that cannot be serialized fails here exactly as it would in production, and what is
read back is a fresh copy, never the object that was stored.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from ._base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointTuple,
    TaskRecord,
    check_limit,
    conflict_error,
    not_found_error,
)
from ._codec import decode_tuple, encode_checkpoint, encode_task

__all__ = ("InMemorySaver",)


@dataclasses.dataclass(slots=True)
class _Namespace:
    """One (thread, namespace): its checkpoints, oldest first, and their task records."""

    checkpoints: dict[str, bytes] = dataclasses.field(default_factory=dict)
    tasks: dict[str, dict[str, bytes]] = dataclasses.field(default_factory=dict)


_Row = tuple[str, bytes, list[tuple[str, bytes]]]


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

    # -- sync --------------------------------------------------------------------------

    def get_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        with self._lock:
            space = self._threads.get(thread_id, {}).get(ns)
            if checkpoint_id is None:
                if space is None or not space.checkpoints:
                    return None
                checkpoint_id = next(reversed(space.checkpoints))
            elif space is None or checkpoint_id not in space.checkpoints:
                raise not_found_error(thread_id, ns, checkpoint_id)
            row = self._row(space, checkpoint_id)
        return decode_tuple(thread_id, ns, *row)

    def list(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple]:
        check_limit(limit)
        with self._lock:
            space = self._threads.get(thread_id, {}).get(ns)
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
            if limit is not None:
                ids = ids[:limit]
            rows = [self._row(space, checkpoint_id) for checkpoint_id in ids]
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
        data = encode_checkpoint(checkpoint)  # SerializationError before anything changes
        records = [(r.task_id, encode_task(r)) for r in parent_records]
        with self._lock:
            space = self._threads.get(thread_id, {}).get(ns)
            head = next(reversed(space.checkpoints)) if space and space.checkpoints else None
            if head != expected_latest or (space and checkpoint.id in space.checkpoints):
                raise conflict_error(thread_id, ns, checkpoint, expected_latest, head)
            if space is None:
                space = self._threads.setdefault(thread_id, {}).setdefault(ns, _Namespace())
            space.checkpoints[checkpoint.id] = data
            if records and checkpoint.parent_id is not None:
                tasks = space.tasks.setdefault(checkpoint.parent_id, {})
                for task_id, record in records:
                    tasks[task_id] = record

    def put_task(self, thread_id: str, ns: str, checkpoint_id: str, record: TaskRecord) -> None:
        data = encode_task(record)
        with self._lock:
            space = self._threads.get(thread_id, {}).get(ns)
            if space is None or checkpoint_id not in space.checkpoints:
                raise not_found_error(thread_id, ns, checkpoint_id)
            # Replacing keeps the record's place: records are listed in first-write order.
            space.tasks.setdefault(checkpoint_id, {})[record.task_id] = data

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(thread_id, None)

    # -- async: the same operations, which never wait for anything ---------------------

    async def aget_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        return self.get_tuple(thread_id, ns, checkpoint_id)

    async def alist(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple]:
        return self.list(thread_id, ns, before=before, limit=limit)

    async def aput(
        self,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        *,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord] = (),
    ) -> None:
        self.put(
            thread_id,
            ns,
            checkpoint,
            expected_latest=expected_latest,
            parent_records=parent_records,
        )

    async def aput_task(
        self, thread_id: str, ns: str, checkpoint_id: str, record: TaskRecord
    ) -> None:
        self.put_task(thread_id, ns, checkpoint_id, record)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    def _row(space: _Namespace, checkpoint_id: str) -> _Row:
        tasks = space.tasks.get(checkpoint_id)
        return checkpoint_id, space.checkpoints[checkpoint_id], list(tasks.items()) if tasks else []
