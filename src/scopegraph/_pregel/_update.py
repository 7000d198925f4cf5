"""``update_state``: write values to a thread as if a node had returned them.

A one-task step that runs no node: the values are collected as the node's result
(reducers, ``Command`` and conditional edges apply), the next step is planned from the
node's routes, and a checkpoint with source ``"update"`` is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast

from .._constants import END, START
from .._errors import InvalidUpdateError
from .._ids import new_id
from .._spec import GraphSpec
from .._types import RunnableConfig
from ..checkpoint._base import BaseCheckpointSaver, CheckpointTuple
from . import _algo, _emit
from ._context import NodeContext, PersistOptions, RunOptions, parse_config
from ._loop import Run
from ._node import collect
from ._persist import Persistence
from ._snapshot import planned_tasks
from ._task import Task, task_id

__all__ = ("update_state", "update_step")

COPY = "__copy__"
"""``update_state(config, None, as_node=COPY)``: fork the checkpoint as it is."""
INPUT = "__input__"
"""``update_state(config, values, as_node=INPUT)``: store ``values`` as a new input."""


async def update_state(options: RunOptions, values: Any, as_node: str | None) -> RunnableConfig:
    """Write ``values`` to the thread of ``options`` (:func:`update_options`) as node
    ``as_node``; return the new checkpoint's config."""
    return await update_step(options, [(values, as_node)])


Update = tuple[Any, str | None] | tuple[Any, str | None, str | None]
"""``(values, as_node)`` or ``(values, as_node, task_id)`` (a ``StateUpdate``)."""


async def update_step(options: RunOptions, updates: Sequence[Update]) -> RunnableConfig:
    """One superstep of updates (``bulk_update_state``'s): each ``(values, as_node)`` is
    a task of ``as_node``; their writes apply in order and one checkpoint follows.
    ``__copy__`` and ``__input__`` are updates of their own (a superstep of one)."""
    assert options.persist is not None
    saver = options.persist.saver
    thread, ns = options.persist.thread_id, options.checkpoint_ns
    checkpoint_id = options.cfg.configurable.get("checkpoint_id")
    steps = [_triple(u) for u in updates]
    if len(steps) > 1 and any(n in (None, COPY, INPUT, END) for _, n, _ in steps):
        raise InvalidUpdateError(
            "bulk_update_state: each update of a superstep of several needs an as_node "
            f"other than {COPY!r}, {INPUT!r} and {END!r}"
        )
    head = await saver.aget_tuple(thread, ns)
    base = head
    if checkpoint_id is not None and (head is None or head.checkpoint.id != checkpoint_id):
        base = await saver.aget_tuple(thread, ns, checkpoint_id)
    if steps[0][1] == COPY:
        copy = await _copy(options, base, head)
        after = _updates_after_copy(steps[0][0])
        if not after:
            return _config_of(copy.thread_id, copy.ns, copy.checkpoint.id)
        # LangGraph's fork-and-update in one call: the updates are a superstep on the copy.
        head = base = copy
        steps = after
    return await _apply(options, base, head, steps)


def _triple(update: Update) -> tuple[Any, str | None, str | None]:
    if len(update) == 3:
        return update
    return update[0], update[1], None


def _updates_after_copy(values: Any) -> list[tuple[Any, str | None, str | None]]:
    """``update_state(config, [StateUpdate(...), ...], as_node="__copy__")``: the updates
    to apply to the copy (none for ``None``, ``[]`` or ``{}``: LangGraph's plain copy).
    Other values LangGraph ignores without a word; here they are an error."""
    if values is None or (isinstance(values, list | dict) and not values):
        return []
    if not isinstance(values, list):
        raise InvalidUpdateError(
            f"update_state(as_node={COPY!r}): values must be None (a plain copy) or a list "
            f"of StateUpdate(values, as_node) to apply to the copy, got {type(values).__name__}"
        )
    after = []
    for item in values:
        if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) < 2:
            raise InvalidUpdateError(
                f"Invalid update item: {item!r} when copying checkpoint; pass "
                "StateUpdate(values, as_node) items"
            )
        after.append(_triple(tuple(item[:3])))
    if any(n in (None, COPY, INPUT, END) for _, n, _ in after):
        raise InvalidUpdateError(
            f"update_state(as_node={COPY!r}): each StateUpdate applied to the copy needs an "
            f"as_node other than {COPY!r}, {INPUT!r} and {END!r}"
        )
    return after


async def _apply(
    options: RunOptions,
    base: CheckpointTuple | None,
    head: CheckpointTuple | None,
    updates: Sequence[tuple[Any, str | None, str | None]],
) -> RunnableConfig:
    """The updates of one superstep on ``base`` (``head``: the thread's newest)."""
    spec = options.spec
    run = Run(options, None)
    persistence = run.persistence
    assert persistence is not None
    persistence.expected_latest = None if head is None else head.checkpoint.id
    if base is None:
        run.values = spec.initial_values()
        run.step = -1
    else:
        persistence.restore(base.checkpoint)
        # A subgraph's update keeps its lineage: time travel to it finds its parents.
        persistence.parents = dict(base.checkpoint.metadata.get("parents") or {})
    if updates[0][1] == INPUT:
        return await _as_input(run, persistence, updates[0][0], base is None)
    if updates[0][1] == END and updates[0][0] is None:
        return await _clear(run, persistence, base)
    tasks = [await _update_task(run, base, values, as_node) for values, as_node, _ in updates]
    superseded = base is not None and head is not None and base.checkpoint.id != head.checkpoint.id
    written: dict[str, str] | None = {} if len(tasks) > 1 else None
    for task in tasks:
        run.apply(task.writes, task.name, written)
    if spec.ephemeral:  # an update is a step of as_node's
        _algo.clear_ephemeral(spec, run.values, tasks)
    next_tasks = _algo.plan_next(spec, tasks, run.barriers, run.values)
    if spec.deferred and base is not None:
        # A deferred node the checkpoint held back still waits (LangGraph: its trigger
        # is not consumed by an update of another node).
        updated = {t.name for t in tasks}
        waiting: list[Any] = [
            name
            for _, name in planned_tasks(base.checkpoint)
            if name in spec.nodes and spec.nodes[name].defer and name not in updated
        ]
        if waiting:
            held = _algo.make_tasks(spec, waiting, {}, run.values)
            next_tasks = _algo.with_held(next_tasks, held)
    run.step += 1
    # As LangGraph: a task id the update names, else the id of a task the checkpoint
    # planned for that node (in order), so the snapshot shows the update as its result.
    planned: dict[str, list[str]] = {}
    for tid, name in planned_tasks(base.checkpoint) if base is not None else ():
        planned.setdefault(name, []).append(tid)
    for index, (task, (_, _, given)) in enumerate(zip(tasks, updates, strict=True)):
        ids = planned.get(task.name)
        path = task.path if index == 0 else (*task.path, index)
        task._id = given or (ids.pop(0) if ids else task_id(persistence.checkpoint_id or "", path))
        task.done = True
        # The update is stored as a record of as_node under the checkpoint it follows
        # (LangGraph's pending writes: a snapshot of it shows the update as the task's
        # result, and clearing it keeps the write), unless the thread moved past that
        # checkpoint: as in LangGraph, its other children must not see the update. The
        # new checkpoint names the writer either way (for update_state without as_node).
        task.recorded = superseded
    await persistence.save_checkpoint(next_tasks, "update", tasks if base is not None else [])
    assert persistence.checkpoint_id is not None
    return _config_of(persistence.thread_id, persistence.ns, persistence.checkpoint_id)


async def _update_task(
    run: Run, base: CheckpointTuple | None, values: Any, as_node: str | None
) -> Task:
    """A task of ``as_node`` whose result is ``values`` (collected, not run)."""
    spec = run.opts.spec
    if as_node is None and spec.functional:
        as_node = next(iter(spec.nodes))  # LangGraph's rule for a graph of one node
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
        update = (
            {}  # update_state(config, None): a copy of the checkpoint, as LangGraph makes
            if values is None
            else spec.input_schema.coerce_input(
                values, allowed=spec.input_channels, strict=spec.strict
            )
        )
        task.writes = list(update.items())
        task.update = update
        task.next.extend(spec.edges_from.get(START, ()))
    else:
        await collect(run, task, NodeContext(run, task), values)
    return task


async def _copy(
    options: RunOptions, base: CheckpointTuple | None, head: CheckpointTuple | None
) -> CheckpointTuple:
    """``as_node="__copy__"``: a sibling of the checkpoint (the same parent, values and
    next tasks, none of its task records), so that its tasks run, and ask, again."""
    assert options.persist is not None
    if base is None:
        raise InvalidUpdateError("Cannot copy a non-existent checkpoint")
    original = base.checkpoint
    copy = dataclasses.replace(
        original,
        id=new_id(),
        created_at=_emit.now(),
        metadata={
            "source": "fork",
            "step": original.metadata.get("step", original.step) + 1,
            "parents": original.metadata.get("parents", {}),
            **options.cfg.checkpoint_metadata,
        },
    )
    expected = None if head is None else head.checkpoint.id
    await options.persist.saver.aput(base.thread_id, base.ns, copy, expected_latest=expected)
    return dataclasses.replace(base, checkpoint=copy, tasks=[])


async def _as_input(run: Run, persistence: Persistence, values: Any, fresh: bool) -> RunnableConfig:
    """``as_node="__input__"``: store ``values`` as a run's input would be (an input
    checkpoint whose ``__start__`` task holds them); the next run applies them."""
    spec = run.opts.spec
    if values is None:  # LangGraph stores any other input, an empty one included
        raise InvalidUpdateError(f"Received no input writes for {list(spec.input_channels)}")
    update = spec.input_schema.coerce_input(values, allowed=spec.input_channels, strict=spec.strict)
    if fresh:
        run.step = -2
    run.step += 1
    start = _algo.start_task(spec, values)
    start.writes = list(update.items())
    start.done = True
    await persistence.save_checkpoint([start], "input")
    await persistence.record(start, "done")
    assert persistence.checkpoint_id is not None
    return _config_of(persistence.thread_id, persistence.ns, persistence.checkpoint_id)


async def _clear(
    run: Run, persistence: Persistence, base: CheckpointTuple | None
) -> RunnableConfig:
    """``update_state(config, None, as_node=END)``: a checkpoint after ``base`` that
    drops its planned tasks (and their interrupts) but keeps what those that finished
    wrote, and where they routed, as LangGraph's (which applies their pending writes and
    ends the step: the next step is what the finished tasks triggered)."""
    finished = []
    if base is not None:
        planned = {tid for tid, _ in planned_tasks(base.checkpoint)}
        finished = [r for r in base.tasks if r.status == "done" and r.task_id in planned]
        for record in finished:
            run.apply(record.writes, record.name)
    # (plan_next reads a task's name and routes, which a record has)
    next_tasks = _algo.plan_next(
        run.opts.spec, cast(list[Task], finished), run.barriers, run.values
    )
    run.step += 1
    await persistence.save_checkpoint(next_tasks, "update")
    assert persistence.checkpoint_id is not None
    return _config_of(persistence.thread_id, persistence.ns, persistence.checkpoint_id)


def _config_of(thread: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}
    }


async def _last_writer(saver: BaseCheckpointSaver, base: CheckpointTuple | None, nodes: Any) -> str:
    """The node an update without ``as_node`` is attributed to: the one that wrote
    last (LangGraph's rule); ``START`` on a new thread."""
    if base is None:
        return START
    # A step's or an update's checkpoint names its writers (its parent's records may not be
    # stored: durability "exit" stores only the last checkpoint of a run).
    writers = base.checkpoint.writers
    if writers and base.checkpoint.metadata.get("source") in ("loop", "update"):
        return _one_writer(writers, nodes)
    if base.checkpoint.parent_id is None:
        return START
    parent = await saver.aget_tuple(base.thread_id, base.ns, base.checkpoint.parent_id)
    records = [r for r in (parent.tasks if parent else ()) if r.status == "done" and r.writes]
    if parent is not None:
        # A step's checkpoint follows the tasks its parent planned; an update's, the
        # update's own record (a fork of the parent may have stored both there).
        planned = {tid for tid, _ in planned_tasks(parent.checkpoint)}
        by_step = base.checkpoint.metadata.get("source") == "loop"
        chosen = [r for r in records if (r.task_id in planned) == by_step]
        records = chosen or records
    return _one_writer(sorted({r.name for r in records}), nodes)


def _one_writer(writers: list[str], nodes: Any) -> str:
    """The one writer of a step (not a node: START); several: ambiguous."""
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
