"""Checkpointers: where a graph's state is kept between steps, runs and processes.

``InMemorySaver`` (tests), ``SqliteSaver`` (the embedded default, stdlib sqlite3) and
``PostgresSaver`` (psycopg 3; install ``scopegraph[postgres]``). Pass one to
``graph.compile(checkpointer=...)`` and select a thread with
``config={"configurable": {"thread_id": "..."}}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import SCHEMA_VERSION as SCHEMA_VERSION
from ._base import BaseCheckpointSaver as BaseCheckpointSaver
from ._base import Checkpoint as Checkpoint
from ._base import CheckpointConflictError as CheckpointConflictError
from ._base import CheckpointError as CheckpointError
from ._base import CheckpointNotFoundError as CheckpointNotFoundError
from ._base import CheckpointTuple as CheckpointTuple
from ._base import CorruptCheckpointError as CorruptCheckpointError
from ._base import SchemaVersionError as SchemaVersionError
from ._base import SerializationError as SerializationError
from ._base import TaskRecord as TaskRecord
from ._serde import register_type as register_type

if TYPE_CHECKING:
    from ._memory import InMemorySaver as InMemorySaver
    from ._postgres import CheckpointConnectionError as CheckpointConnectionError
    from ._postgres import PostgresSaver as PostgresSaver
    from ._sqlite import SqliteSaver as SqliteSaver

__all__ = (
    "SCHEMA_VERSION",
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointConflictError",
    "CheckpointConnectionError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointTuple",
    "CorruptCheckpointError",
    "InMemorySaver",
    "PostgresSaver",
    "SchemaVersionError",
    "SerializationError",
    "SqliteSaver",
    "TaskRecord",
    "register_type",
)


def __getattr__(name: str) -> Any:
    # Savers are imported when asked for: PostgresSaver needs psycopg, and the core
    # imports this package for its data types only.
    if name == "InMemorySaver":
        from ._memory import InMemorySaver

        return InMemorySaver
    if name == "SqliteSaver":
        from ._sqlite import SqliteSaver

        return SqliteSaver
    if name == "PostgresSaver":
        from ._postgres import PostgresSaver

        return PostgresSaver
    if name == "CheckpointConnectionError":
        from ._postgres import CheckpointConnectionError

        return CheckpointConnectionError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
