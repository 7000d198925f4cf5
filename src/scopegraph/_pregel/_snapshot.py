"""A stored checkpoint as the state API shows it (``get_state``, ``get_state_history``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .._schema import MISSING, ROOT
from .._spec import GraphSpec
from .._state import PregelTask, StateSnapshot
from .._types import RunnableConfig
from ..checkpoint._base import Checkpoint, CheckpointTuple
from ._algo import reduce_one, snapshot
from ._task import planned_paths, result_of, task_id

__all__ = ("planned_tasks", "state_snapshot")


def planned_tasks(checkpoint: Checkpoint) -> Iterator[tuple[str, str]]:
    """The id and node name of each task ``checkpoint`` plans."""
    for (_kind, name, _extra), path in planned_paths(checkpoint.next):
        yield task_id(checkpoint.id, path), name


def state_snapshot(
    spec: GraphSpec,
    tup: CheckpointTuple | None,
    config: RunnableConfig,
    *,
    live: bool = False,
    task_states: dict[str, Any] | None = None,
) -> StateSnapshot:
    """A checkpoint as LangGraph shows it.

    ``live`` (the newest checkpoint, asked for without a checkpoint id): the values
    include the writes of tasks that already finished, and ``next`` only the tasks
    still to run. Otherwise: the record of the checkpoint as it was written.
    ``task_states``: the ``state`` of tasks that run a subgraph, by task id.
    """
    if tup is None:
        return StateSnapshot({}, (), config, None, None, None, (), ())
    checkpoint = tup.checkpoint
    values = dict(checkpoint.values)
    records = {r.task_id: r for r in tup.tasks}
    if live:
        for done in tup.tasks:
            if done.status != "done":
                continue
            for key, value in done.writes:
                values[key] = reduce_one(spec.reducers.get(key), values.get(key, MISSING), value)
    ordered = snapshot(spec, values)
    tasks: list[PregelTask] = []
    names: list[str] = []
    for (_kind, name, _extra), path in planned_paths(checkpoint.next):
        tid = task_id(checkpoint.id, path)
        record = records.get(tid)
        if not (live and record is not None and record.status == "done"):
            names.append(name)
        tasks.append(
            PregelTask(
                tid,
                name,
                path,
                # As in LangGraph: the stored error's repr, e.g. "ValueError('boom')".
                error=record.error if record and record.error else None,
                # As in LangGraph: live, the questions still waiting for an answer;
                # otherwise the step's record, answered ones included.
                interrupts=tuple(record.interrupts)
                if record and (not live or record.status == "interrupted")
                else (),
                state=task_states.get(tid) if task_states else None,
                result=_result(spec, record.writes) if record and record.status == "done" else None,
            )
        )
    interrupts = tuple(i for task in tasks for i in task.interrupts)
    own_config = tup.config
    parents = checkpoint.metadata.get("parents")
    if tup.ns and parents:  # a subgraph's: where each enclosing graph was, as LangGraph
        checkpoint_map = {**parents, tup.ns: checkpoint.id}
        own_config = {
            "configurable": {**own_config["configurable"], "checkpoint_map": checkpoint_map}
        }
    return StateSnapshot(
        values=ordered,
        next=tuple(names),
        config=own_config,  # type: ignore[arg-type]
        metadata=checkpoint.metadata,
        created_at=checkpoint.created_at,
        parent_config=tup.parent_config,  # type: ignore[arg-type]
        tasks=tuple(tasks),
        interrupts=interrupts,
    )


def _result(spec: GraphSpec, writes: Sequence[tuple[str, Any]]) -> Any:
    """A finished task's result: its writes by key; a root state's written value."""
    if spec.root:
        return next((value for key, value in writes if key == ROOT), None)
    return result_of(writes)
