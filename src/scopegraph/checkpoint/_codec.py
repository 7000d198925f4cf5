"""How checkpoints and task records become bytes, for every saver.

Each document carries the schema version it was written with; a newer version than this
release knows raises SchemaVersionError, and anything that does not decode raises
CorruptCheckpointError naming the thread and checkpoint. Values are encoded channel by
channel, so that an unserializable value fails at write time naming its channel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ._model import (
    SCHEMA_VERSION,
    Checkpoint,
    CheckpointTuple,
    CorruptCheckpointError,
    SchemaVersionError,
    SerializationError,
    TaskRecord,
    describe_checkpoint,
)
from ._serde import decode, encode

__all__ = (
    "decode_checkpoint",
    "decode_task",
    "decode_tuple",
    "encode_checkpoint",
    "encode_task",
)


def _dump(doc: dict[str, Any], what: str) -> bytes:
    try:
        return json.dumps(doc, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:  # only fields stored as-is (barriers) get here
        raise SerializationError(f"cannot store {what}: {exc}") from exc


def _load(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:  # incl. UnicodeDecodeError
        raise CorruptCheckpointError(f"{what} is corrupted: {exc!r}") from exc
    if not isinstance(doc, dict):
        raise CorruptCheckpointError(f"{what} is corrupted: not a JSON object")
    version = doc.get("v")
    if not isinstance(version, int):
        raise CorruptCheckpointError(f"{what} is corrupted: it has no schema version")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{what} was written by a newer scopegraph (schema version {version}; this "
            f"release reads up to {SCHEMA_VERSION}); upgrade scopegraph to read it"
        )
    return doc


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    values = {k: encode(v, f"channel {k!r}") for k, v in checkpoint.values.items()}
    return _dump(
        {
            "v": SCHEMA_VERSION,
            "id": checkpoint.id,
            "parent_id": checkpoint.parent_id,
            "step": checkpoint.step,
            "created_at": checkpoint.created_at,
            "values": values,
            "next": encode(checkpoint.next, "the next tasks (Send arguments)"),
            "barriers": checkpoint.barriers,
            "metadata": encode(checkpoint.metadata, "the checkpoint metadata"),
            "writers": checkpoint.writers,
        },
        f"checkpoint {checkpoint.id!r}",
    )


def decode_checkpoint(data: bytes | str, what: str) -> Checkpoint:
    doc = _load(data, what)
    try:
        return Checkpoint(
            id=doc["id"],
            parent_id=doc["parent_id"],
            step=doc["step"],
            created_at=doc["created_at"],
            values={k: decode(v) for k, v in doc["values"].items()},
            next=decode(doc["next"]),
            barriers={k: list(v) for k, v in doc["barriers"].items()},
            metadata=decode(doc["metadata"]),
            writers=list(doc.get("writers", ())),  # (none in checkpoints stored before)
        )
    except CorruptCheckpointError as exc:
        raise CorruptCheckpointError(f"{what} is corrupted: {exc}") from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise CorruptCheckpointError(f"{what} is corrupted: {exc!r}") from exc


def encode_task(record: TaskRecord) -> bytes:
    writes = [
        [k, encode(v, f"channel {k!r} (written by node {record.name!r})")] for k, v in record.writes
    ]
    return _dump(
        {
            "v": SCHEMA_VERSION,
            "task_id": record.task_id,
            "name": record.name,
            "path": encode(record.path, "the task path"),
            "status": record.status,
            "writes": writes,
            "next": encode(record.next, f"the routing of node {record.name!r}"),
            "interrupts": encode(record.interrupts, f"the interrupts of node {record.name!r}"),
            "error": record.error,
            "resume": encode(record.resume, f"the resume values of node {record.name!r}"),
        },
        f"the record of task {record.task_id!r}",
    )


def decode_task(data: bytes | str, what: str) -> TaskRecord:
    doc = _load(data, what)
    try:
        return TaskRecord(
            task_id=doc["task_id"],
            name=doc["name"],
            path=tuple(decode(doc["path"])),
            status=doc["status"],
            writes=[(k, decode(v)) for k, v in doc["writes"]],
            next=decode(doc["next"]),
            interrupts=decode(doc["interrupts"]),
            error=doc["error"],
            resume=decode(doc.get("resume", [])),
        )
    except CorruptCheckpointError as exc:
        raise CorruptCheckpointError(f"{what} is corrupted: {exc}") from exc
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise CorruptCheckpointError(f"{what} is corrupted: {exc!r}") from exc


def decode_tuple(
    thread_id: str,
    ns: str,
    checkpoint_id: str,
    data: bytes | str,
    tasks: Iterable[tuple[str, bytes | str]],
) -> CheckpointTuple:
    """A stored checkpoint and its task records (``(task_id, data)`` pairs), decoded.

    CorruptCheckpointError names the thread and checkpoint; a document that does not
    belong to the row it was read from (another checkpoint id or task id) is corrupt too.
    """
    what = describe_checkpoint(thread_id, ns, checkpoint_id)
    checkpoint = decode_checkpoint(data, what)
    if checkpoint.id != checkpoint_id:
        raise CorruptCheckpointError(
            f"{what} is corrupted: its stored document is checkpoint {checkpoint.id!r}"
        )
    records = []
    for task_id, task_data in tasks:
        task_what = f"task record {task_id!r} of {what} (written by task {task_id!r})"
        record = decode_task(task_data, task_what)
        if record.task_id != task_id:
            raise CorruptCheckpointError(
                f"{task_what} is corrupted: its stored document is task {record.task_id!r}"
            )
        records.append(record)
    return CheckpointTuple(thread_id, ns, checkpoint, records)
