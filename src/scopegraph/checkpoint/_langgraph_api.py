"""LangGraph's read API on every saver: ``get_tuple(config)``, ``list(config)``,
``get(config)`` and their async twins, for programs (and tests) written for LangGraph.

A saver's own API takes ``(thread_id, ns, checkpoint_id)``; given a config dict instead,
:class:`~._base.BaseCheckpointSaver` answers with LangGraph's shapes, built here from
the stored checkpoint: a :class:`LangGraphCheckpointTuple` (equal to LangGraph's
``CheckpointTuple`` with the same values), whose ``checkpoint`` is LangGraph's dict
(``channel_values`` hold the state; scopegraph keeps no channel versions, so those are
empty) and whose ``pending_writes`` are ``(task_id, channel, value)`` triples: a
finished task's writes, an interrupted task's ``__interrupt__``, a failed task's
``__error__``. Read-only: writing through LangGraph's ``put`` is not offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ._model import CheckpointTuple

__all__ = ("LangGraphCheckpointTuple", "as_langgraph", "config_parts", "matching")


class LangGraphCheckpointTuple(NamedTuple):
    """LangGraph's ``CheckpointTuple`` (same fields, same order)."""

    config: dict[str, Any]
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    parent_config: dict[str, Any] | None = None
    pending_writes: list[tuple[str, str, Any]] | None = None


def config_parts(config: Mapping[str, Any] | None, api: str) -> tuple[str, str, str | None]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` of a LangGraph config."""
    configurable = (config or {}).get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None:
        raise ValueError(
            f'{api} needs a thread: pass {{"configurable": {{"thread_id": ...}}}} (listing '
            "every thread's checkpoints is not supported)"
        )
    return str(thread_id), configurable.get("checkpoint_ns", ""), configurable.get("checkpoint_id")


def as_langgraph(tup: CheckpointTuple) -> LangGraphCheckpointTuple:
    """A stored checkpoint in LangGraph's shape."""
    stored = tup.checkpoint
    checkpoint = {
        "v": 4,
        "id": stored.id,
        "ts": stored.created_at,
        "channel_values": dict(stored.values),
        "channel_versions": {},
        "versions_seen": {},
        "updated_channels": None,
    }
    writes: list[tuple[str, str, Any]] = []
    for record in tup.tasks:
        if record.status == "done":
            writes.extend((record.task_id, key, value) for key, value in record.writes)
        elif record.status == "interrupted":
            writes.append((record.task_id, "__interrupt__", list(record.interrupts)))
        elif record.status == "error":
            writes.append((record.task_id, "__error__", record.error))
    return LangGraphCheckpointTuple(
        tup.config, checkpoint, dict(stored.metadata), tup.parent_config, writes
    )


def matching(
    tuples: Iterable[CheckpointTuple], filter: Mapping[str, Any] | None, limit: int | None
) -> list[LangGraphCheckpointTuple]:
    """Those of ``tuples`` whose metadata has ``filter``'s items, at most ``limit``."""
    found: list[LangGraphCheckpointTuple] = []
    for tup in tuples:
        if limit is not None and len(found) >= limit:
            break
        metadata = tup.checkpoint.metadata
        if filter and any(metadata.get(k) != v for k, v in filter.items()):
            continue
        found.append(as_langgraph(tup))
    return found
