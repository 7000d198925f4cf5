"""``update_state``: write values to a thread as if a node had returned them.

A one-task step that runs no node: the values are collected as the node's result
(reducers, ``Command`` and conditional edges apply), the next step is planned from the
node's routes, and a checkpoint with source ``"update"`` is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._constants import START
from .._errors import InvalidUpdateError
from .._spec import GraphSpec
from .._types import RunnableConfig
from ..checkpoint._base import BaseCheckpointSaver, CheckpointTuple
from . import _algo, _emit
from ._context import NodeContext, PersistOptions, RunOptions, parse_config
from ._loop import Run
from ._node import collect
from ._task import Task, task_id

__all__ = ("update_state", "update_step")


async def update_state(options: RunOptions, values: Any, as_node: str | None) -> RunnableConfig:
    """Write ``values`` to the thread of ``options`` (:func:`update_options`) as node
    ``as_node``; return the new checkpoint's config."""
    return await update_step(options, [(values, as_node)])


async def update_step(
    options: RunOptions, updates: Sequence[tuple[Any, str | None]]
) -> RunnableConfig:
    """One superstep of updates (``bulk_update_state``'s): each ``(values, as_node)`` is
    a task of ``as_node``; their writes apply in order and one checkpoint follows."""
    spec = options.spec
    assert options.persist is not None
    saver = options.persist.saver
    thread, ns = options.persist.thread_id, options.checkpoint_ns
    checkpoint_id = options.cfg.configurable.get("checkpoint_id")
    head = await saver.aget_tuple(thread, ns)
    base = head
    if checkpoint_id is not None and (head is None or head.checkpoint.id != checkpoint_id):
        base = await saver.aget_tuple(thread, ns, checkpoint_id)
    run = Run(options, None)
    persistence = run.persistence
    assert persistence is not None
    persistence.expected_latest = None if head is None else head.checkpoint.id
    if base is None:
        run.values = spec.initial_values()
        run.step = -1
    else:
        persistence.restore(base.checkpoint)
    if len(updates) > 1 and any(as_node is None for _, as_node in updates):
        raise InvalidUpdateError(
            "bulk_update_state: several updates in one superstep each need an as_node"
        )
    tasks = [await _update_task(run, base, values, as_node) for values, as_node in updates]
    written: dict[str, str] | None = {} if len(tasks) > 1 else None
    for task in tasks:
        run.apply(task.writes, task.name, written)
    next_tasks = _algo.plan_next(spec, tasks, run.barriers, run.values)
    run.step += 1
    for task in tasks:
        task._id = task_id(persistence.checkpoint_id or "", task.path)
        task.done = True
    # The update is stored as a record of as_node under the checkpoint it follows,
    # so a later update_state without as_node can find who wrote last.
    await persistence.save_checkpoint(next_tasks, "update", tasks if base is not None else [])
    return {
        "configurable": {
            "thread_id": thread,
            "checkpoint_ns": ns,
            "checkpoint_id": persistence.checkpoint_id,
        }
    }


async def _update_task(
    run: Run, base: CheckpointTuple | None, values: Any, as_node: str | None
) -> Task:
    """A task of ``as_node`` whose result is ``values`` (collected, not run)."""
    spec = run.opts.spec
    if as_node is None:
        assert run.opts.persist is not None
        as_node = await _last_writer(run.opts.persist.saver, base, spec.nodes)
    if as_node != START and as_node not in spec.nodes:
        raise InvalidUpdateError(
            f"update_state(as_node={as_node!r}): {as_node!r} is not a node; use one of "
            f"{', '.join(map(repr, spec.nodes))}"
        )
    node = spec.start_node if as_node == START else spec.nodes[as_node]
    task = Task(node, None, (), ("__pregel_pull", as_node), (0, as_node))
    if as_node == START:
        update = spec.input_schema.coerce_input(
            values, allowed=spec.input_channels, strict=spec.strict
        )
        task.writes = list(update.items())
        task.update = update
        task.next.extend(spec.edges_from.get(START, ()))
    else:
        await collect(run, task, NodeContext(run, task), values)
    return task


async def _last_writer(saver: BaseCheckpointSaver, base: CheckpointTuple | None, nodes: Any) -> str:
    """The node an update without ``as_node`` is attributed to: the one that wrote
    last (LangGraph's rule); ``START`` on a new thread."""
    if base is None or base.checkpoint.parent_id is None:
        return START
    parent = await saver.aget_tuple(base.thread_id, base.ns, base.checkpoint.parent_id)
    writers = sorted(
        {r.name for r in (parent.tasks if parent else ()) if r.status == "done" and r.writes}
    )
    if len(writers) == 1:
        return writers[0] if writers[0] in nodes else START
    if not writers:
        return START
    raise InvalidUpdateError(
        "Ambiguous update, specify as_node: the last step was written by "
        f"{', '.join(map(repr, writers))}; pass update_state(..., as_node=...)"
    )


def update_options(
    spec: GraphSpec,
    config: RunnableConfig,
    saver: BaseCheckpointSaver,
    thread: str,
    ns: str,
    *,
    name: str,
    recursion_limit: int,
) -> RunOptions:
    """The options of an ``update_state`` run: no stream, synchronous writes."""
    return RunOptions(
        spec,
        parse_config(config, name, recursion_limit),
        _emit.NO_STREAM,
        checkpoint_ns=ns,
        persist=PersistOptions(saver, thread, durability="sync"),
    )
