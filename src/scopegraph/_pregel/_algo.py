"""The Pregel algorithm, pure: turn node results into writes, apply writes, plan tasks.

No I/O, no task group, no clock: every function here takes the values and tables it
works on and returns (or fills in) the result, so it is tested directly
(tests/test_pregel_algo.py). The loop (:mod:`._loop`) calls these between supersteps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from .._constants import END, PREVIOUS, START
from .._errors import InvalidUpdateError, bubbling
from .._schema import MISSING, ROOT, Reducer, fields_of, managed_values
from .._spec import Branch, GraphSpec
from .._types import (
    NOT_OVERWRITE,
    Command,
    EntrypointFinal,
    Overwrite,
    Send,
    from_langgraph,
    overwritten,
)
from ..checkpoint._base import Checkpoint, CheckpointNotFoundError
from ._task import ParentCommand, Task, planned_paths, task_id

__all__ = (
    "TROUBLESHOOTING",
    "apply_writes",
    "check_route",
    "collect",
    "command_writes",
    "goto_tasks",
    "make_tasks",
    "output_of",
    "plan_next",
    "reduce_one",
    "NULL_ANSWER",
    "resume_answers",
    "snapshot",
    "split_deferred",
    "start_task",
    "tasks_from_checkpoint",
    "updates_chunk",
    "updated_values",
    "with_held",
    "with_managed",
)

TROUBLESHOOTING = "https://docs.langchain.com/oss/python/langgraph/errors/"

Target = str | Send


def start_task(spec: GraphSpec, input: Any = None) -> Task:
    """The ``__start__`` task, whose writes are the run's input."""
    return Task(spec.start_node, input, (START,), ("__pregel_pull", START), (0, START))


def command_start(spec: GraphSpec, command: Command[Any]) -> Task:
    """The ``__start__`` task of a thread that a ``Command`` starts (no checkpoint to
    resume): LangGraph takes the command as the input, its update as the task's writes
    and its ``goto`` as where it routes, besides START's edges. (A ``resume`` has no
    interrupt to answer: it is ignored, as in LangGraph.)"""
    start = start_task(spec, command)
    start.writes = command_writes(spec, command)
    goto = command.goto
    gotos = [goto] if isinstance(goto, (str, Send)) else list(goto or ())
    start.next = [check_goto(spec, START, g) for g in gotos]
    start.done = True
    return start


# -- writes ---------------------------------------------------------------------------------


def apply_writes(
    values: dict[str, Any],
    reducers: Mapping[str, Reducer | None],
    writes: Any,
    writer: str,
    step: int,
    written: dict[str, str] | None = None,
) -> bool:
    """Apply one writer's writes to ``values``; return whether anything was written.

    ``written`` tracks the last-value keys written so far in a step: a second writer of
    such a key in the same step is an error (LangGraph's rule).
    """
    updated = False
    for key, value in writes:
        reducer = reducers[key]
        if reducer is not None and (
            (written is not None and key in written)
            or type(value) is Overwrite
            or type(value) is dict
        ):
            done, written = _overwrite(values, key, value, writer, written)
            if done:
                updated = True
                continue
        if reducer is None:
            if written is not None:
                other = written.get(key)
                if other is not None:
                    raise InvalidUpdateError(
                        f"At key '{key}': Can receive only one value per step. Use an "
                        "Annotated key to handle multiple values. "
                        f"(nodes {other!r} and {writer!r} both wrote it in step "
                        f"{step}; give {key!r} a reducer, e.g. "
                        "Annotated[list, operator.add], or let only one node write it)"
                        f"\nFor troubleshooting, visit: {TROUBLESHOOTING}"
                        "INVALID_CONCURRENT_GRAPH_UPDATE"
                    )
                written[key] = writer
            values[key] = value
        else:
            current = values.get(key, MISSING)
            values[key] = value if current is MISSING else reducer(current, value)
        updated = True
    return updated


def _overwrite(
    values: dict[str, Any], key: str, value: Any, writer: str, written: dict[str, str] | None
) -> tuple[bool, dict[str, str] | None]:
    """A write to a reducer key that may be an ``Overwrite``: returns whether it is done
    with (applied, or ignored since the key was overwritten earlier in the step, as in
    LangGraph), and ``written``, made here if None, where an overwritten key is recorded."""
    new = overwritten(value)
    if written is not None and key in written:
        if new is not NOT_OVERWRITE:
            raise InvalidUpdateError(
                f"Can receive only one Overwrite value per super-step. (key {key!r}, "
                f"written by {written[key]!r} and {writer!r})\nFor troubleshooting, visit: "
                f"{TROUBLESHOOTING}INVALID_CONCURRENT_GRAPH_UPDATE"
            )
        return True, written
    if new is NOT_OVERWRITE:
        return False, written
    if written is None:
        written = {}
    written[key] = writer
    values[key] = new
    return True, written


def updated_values(
    values: dict[str, Any], reducers: Mapping[str, Reducer | None], writes: Any
) -> dict[str, Any]:
    """``values`` with one task's writes applied, as a copy (what its branches see)."""
    fresh = dict(values)
    for key, value in writes:
        fresh[key] = reduce_one(reducers[key], fresh.get(key, MISSING), value)
    return fresh


def clear_ephemeral(spec: GraphSpec, values: dict[str, Any], tasks: list[Task]) -> None:
    """After a step's writes: drop the ephemeral keys no task of the step wrote (LangGraph
    clears an ``EphemeralValue`` channel that a step leaves unwritten)."""
    written = {key for task in tasks if task.writes for key, _ in task.writes}
    for key in spec.ephemeral:
        if key not in written:
            values.pop(key, None)


def reduce_one(reducer: Reducer | None, current: Any, value: Any) -> Any:
    """A key's value after one write (an ``Overwrite`` bypasses the reducer)."""
    if reducer is None or current is MISSING:
        return value
    new = overwritten(value)
    return reducer(current, value) if new is NOT_OVERWRITE else new


# -- a node's result ------------------------------------------------------------------------


def collect(spec: GraphSpec, task: Task, result: Any, *, subgraph: bool) -> None:
    """Turn a node's return value into the task's writes and its static routes.

    Fills ``task.writes``, ``task.update`` (the node's ``updates`` chunk) and ``task.next``
    (edges, then ``Command`` gotos); the caller adds the routes of the node's conditional
    edges. ``subgraph``: this run is a subgraph, where ``Command(graph=Command.PARENT)``
    is allowed. Writes to keys the graph does not have are dropped, as in LangGraph
    (``compile(strict=True)``: an error).
    """
    name = task.name
    if result is None:
        task.update = None
        if spec.functional:  # an entrypoint returned None: its return and saved value
            task.writes = [(ROOT, None), (PREVIOUS, None)]
    elif type(result) is dict and not spec.root:
        # The common case: a plain dict of updates, one write per key.
        update = result
        if not update.keys() <= spec.reducers.keys():
            update = {k: v for k, v in _known(spec, task, update.items())}
        if update:
            task.writes = list(update.items())
            task.update = update
        else:
            task.update = None
    else:
        writes, gotos = _writes_of(spec, task, result, subgraph=subgraph)
        task.writes = writes
        task.update = updates_chunk(spec, writes)
        if gotos:
            task.next.extend(spec.edges_from.get(name, ()))
            task.next.extend(check_goto(spec, name, goto) for goto in gotos)
            return
    task.next.extend(spec.edges_from.get(name, ()))


def _known(spec: GraphSpec, task: Task, writes: Any) -> list[tuple[str, Any]]:
    """The writes to keys the graph has; the others are dropped (strict: an error)."""
    channels = spec.reducers
    known = [(k, v) for k, v in writes if k in channels]
    if spec.strict and task.node.kind != "graph" and len(known) != len(writes):
        unknown = next(k for k, _ in writes if k not in channels)
        raise InvalidUpdateError(
            f"node {task.name!r} wrote the key {unknown!r}, which is not in the state "
            f"schema {spec.state_schema.name}; add {unknown!r} to the schema or stop "
            "returning it (compile(strict=True) rejects such writes)"
        )
    return known


def _writes_of(
    spec: GraphSpec, task: Task, result: Any, *, subgraph: bool
) -> tuple[list[tuple[str, Any]], list[Any]]:
    """The writes and the gotos of any result but a plain dict (LangGraph's rules): a
    ``Command``, a list mixing Commands and updates, a state object, a root value."""
    if isinstance(result, Command):
        items: Sequence[Any] = (result,)
    elif (
        isinstance(result, (list, tuple)) and result and any(isinstance(c, Command) for c in result)
    ):
        items = result
    else:
        converted = from_langgraph(result)  # LangGraph's Command, from its prebuilt nodes
        if converted is not result:
            return _writes_of(spec, task, converted, subgraph=subgraph)
        items = (result,)
    writes: list[tuple[str, Any]] = []
    gotos: list[Any] = []
    for item in items:
        if not isinstance(item, Command):
            writes.extend(_value_writes(spec, task.name, item))
            continue
        _check_command_graph(task.name, item, subgraph=subgraph)
        writes.extend(_command_writes(spec, task.name, item.update))
        goto = item.goto
        if isinstance(goto, (str, Send)):
            gotos.append(goto)
        else:
            gotos.extend(goto)
    return _known(spec, task, writes), gotos


def _value_writes(spec: GraphSpec, name: str, value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if spec.root:
        if spec.functional:  # an entrypoint: its return value, and the value it saves
            if isinstance(value, EntrypointFinal):
                return [(ROOT, value.value), (PREVIOUS, value.save)]
            return [(ROOT, value), (PREVIOUS, value)]
        return [(ROOT, value)]
    if isinstance(value, Mapping):
        return list(value.items())
    writes = fields_of(value)
    if writes is None:
        raise InvalidUpdateError(
            f"Expected dict, got {value}: node {name!r} must return a dict of state "
            "updates, a Command, or None\n"
            f"For troubleshooting, visit: {TROUBLESHOOTING}INVALID_GRAPH_NODE_RETURN_VALUE"
        )
    return writes


def _command_writes(spec: GraphSpec, name: str, cu: Any) -> list[tuple[str, Any]]:
    """``Command.update`` as writes: a dict, ``(key, value)`` pairs, a state object, or
    (a root state) the new value."""
    if cu is None:
        return []
    if isinstance(cu, Mapping):
        return list(cu.items())
    if isinstance(cu, (list, tuple)) and all(
        isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) for t in cu
    ):
        return list(cu)
    if spec.root:
        return [(ROOT, cu)]
    writes = fields_of(cu)
    if writes is None:
        # Deliberate difference: LangGraph drops such an update silently.
        raise InvalidUpdateError(
            f"node {name!r} returned Command(update={cu!r}); the update must "
            "be a dict of state keys, a list of (key, value) pairs, or None"
        )
    return writes


def command_writes(spec: GraphSpec, command: Command[Any]) -> list[tuple[str, Any]]:
    """The writes of a ``Command(update=...)`` given as run input (a resume)."""
    reducers = spec.reducers
    return [(k, v) for k, v in _command_writes(spec, START, command.update) if k in reducers]


def _check_command_graph(name: str, command: Command[Any], *, subgraph: bool) -> None:
    if command.graph == Command.PARENT:
        error = bubbling(ParentCommand, "ParentCommand", command)
        if not subgraph:  # LangGraph's: the command leaves the root run as ParentCommand
            error.add_note(
                f"node {name!r} returned Command(graph=Command.PARENT) but this graph is "
                "not a subgraph: its caller gets the command; to route inside this graph, "
                "drop graph=Command.PARENT"
            )
        raise error
    if command.graph is not None:
        raise InvalidUpdateError(
            f"node {name!r} returned Command(graph={command.graph!r}); graph must "
            "be None or Command.PARENT"
        )


def updates_chunk(spec: GraphSpec, writes: list[tuple[str, Any]]) -> Any:
    """A node's ``updates`` chunk, LangGraph's shape: ``{key: value}``; a list of
    ``{key: value}`` when it wrote a key more than once; a root state's value (a list of
    values for several writes); None when it wrote nothing."""
    if spec.root:
        # (an entrypoint also writes its saved value: its chunk is the return value)
        values = [v for k, v in writes if k == ROOT]
        return None if not values else values[0] if len(values) == 1 else values
    if not writes:
        return None
    update = dict(writes)
    if len(update) < len(writes):
        return [{k: v} for k, v in writes]
    return update


def check_goto(spec: GraphSpec, name: str, goto: Any) -> Target:
    nodes = spec.nodes
    target = goto.node if isinstance(goto, Send) else goto
    if target == END and not isinstance(goto, Send):
        return END
    if not isinstance(target, str) or target not in nodes:
        raise InvalidUpdateError(
            f"node {name!r} returned Command(goto={goto!r}), but {target!r} is not a node; "
            f"go to one of {', '.join(map(repr, nodes))} or END"
        )
    return goto  # type: ignore[no-any-return]


def check_route(spec: GraphSpec, branch: Branch, source: str, result: Any) -> list[Target]:
    """What a conditional edge's path function returned, as routes; an error naming the
    fix when it is not a node name, END, a list of them, or ``Send`` objects."""
    where = f"the conditional edge {branch.name!r} from {source!r}"
    if result is None:
        raise InvalidUpdateError(
            f"{where} returned None; return a node name, END, a list of them, or Send objects"
        )
    items = result if isinstance(result, (list, tuple)) else (result,)
    targets: list[Target] = []
    nodes = spec.nodes
    for item in items:
        if not isinstance(item, (str, Send)):
            item = from_langgraph(item)  # LangGraph's Send, from its prebuilt edges
        if isinstance(item, Send):
            if item.node not in nodes:
                raise InvalidUpdateError(
                    f"{where} sent Send({item.node!r}, ...) to a node that does not exist; "
                    f"the nodes are {', '.join(map(repr, nodes))}"
                )
            targets.append(item)
            continue
        dest = item
        if branch.path_map is not None:
            if item not in branch.path_map:
                raise InvalidUpdateError(
                    f"{where} returned {item!r}, which is not a key of its path_map "
                    f"{branch.path_map!r}; add it to the path_map or return one of its keys"
                )
            dest = branch.path_map[item]
        if dest == END:
            continue
        if not isinstance(dest, str) or dest not in nodes:
            raise InvalidUpdateError(
                f"{where} returned {item!r}, which is not a node; return one of "
                f"{', '.join(map(repr, nodes))} or END"
            )
        targets.append(dest)
    return targets


# -- planning -------------------------------------------------------------------------------


def plan_next(
    spec: GraphSpec, done: Sequence[Task], barriers: dict[int, set[str]], values: dict[str, Any]
) -> list[Task]:
    """The tasks of the next step, from the routes of the step's tasks and join edges.

    ``barriers`` (which sources of each join edge have run) is updated in place.
    """
    targets: list[Target] = []
    joins: dict[str, list[str]] = {}
    waiting = spec.waiting_by_source
    for task in done:
        targets.extend(task.next)
        for index in waiting.get(task.name, ()):
            sources, dest = spec.waiting_edges[index]
            seen = barriers.setdefault(index, set())
            seen.add(task.name)
            if len(seen) == len(sources):
                seen.clear()
                targets.append(dest)
                joins.setdefault(dest, []).append(f"join:{'+'.join(sources)}:{dest}")
    return make_tasks(spec, targets, joins, values)


def make_tasks(
    spec: GraphSpec, targets: list[Target], joins: dict[str, list[str]], values: dict[str, Any]
) -> list[Task]:
    """Tasks for ``targets``: one pull task per node (in name order) and one push task
    per ``Send`` (in order); ``joins`` adds join triggers to pull tasks."""
    if not targets:
        return []
    nodes = spec.nodes
    if len(targets) == 1 and not joins:
        # The common case of a chain: one successor, reached by an edge.
        name = targets[0]
        if type(name) is str:
            if name == END:
                return []
            triggers, path, key = spec.pull_info[name]
            return [Task(nodes[name], spec.node_views[name](values), triggers, path, key)]
    push: list[Task] = []
    pull: set[str] = set()
    for target in targets:
        if type(target) is str:
            if target != END:
                pull.add(target)
        else:
            assert isinstance(target, Send)
            index = len(push)
            node = nodes[target.node]
            if target.timeout is not None:
                node = dataclasses.replace(node, timeout=target.timeout)
            push.append(
                Task(
                    node,
                    target.arg,
                    ("__pregel_push",),
                    ("__pregel_push", index, False),
                    (1, index),
                )
            )
    if not pull:
        return push
    views = spec.node_views
    pull_info = spec.pull_info
    for name in sorted(pull):
        triggers, path, key = pull_info[name]
        if joins:
            triggers = (*triggers, *joins.get(name, ()))
        push.append(Task(nodes[name], views[name](values), triggers, path, key))
    return push


def tasks_from_checkpoint(
    spec: GraphSpec, checkpoint: Checkpoint, values: dict[str, Any], thread_id: str
) -> list[Task]:
    """The tasks a stored checkpoint plans, with the ids their records are stored under."""
    nodes = spec.nodes
    tasks: list[Task] = []
    for (kind, name, extra), path in planned_paths(checkpoint.next):
        if name not in nodes:
            raise CheckpointNotFoundError(
                f"checkpoint {checkpoint.id!r} of thread {thread_id!r} plans node "
                f"{name!r}, which this graph does not have; resume it with the graph "
                "that wrote it"
            )
        if kind == "push":
            task = Task(nodes[name], extra, ("__pregel_push",), path, (1, path[1]))
        else:
            _, path, key = spec.pull_info[name]
            task = Task(nodes[name], spec.node_views[name](values), tuple(extra), path, key)
        task._id = task_id(checkpoint.id, task.path)
        tasks.append(task)
    return tasks


NULL_ANSWER = ""
"""The key of an answer given while no interrupt was pending (never an interrupt id)."""


def keep_sends(planned: list[Task], command: Command[Any] | None) -> list[Task]:
    """The planned tasks a resumed run keeps: a ``Command`` whose ``goto`` sends
    replaces the checkpoint's pending ``Send`` tasks (LangGraph's sends are one channel,
    which the command's sends overwrite), finished or interrupted ones included."""
    goto = None if command is None else command.goto
    if not goto or not any(
        isinstance(g, Send) for g in (goto if isinstance(goto, list | tuple) else [goto])
    ):
        return planned
    return [t for t in planned if t.path[0] != "__pregel_push"]


def goto_tasks(
    spec: GraphSpec, planned: Sequence[Task], goto: Any, values: dict[str, Any]
) -> list[Task]:
    """The tasks a resume's ``Command(goto=...)`` adds to the planned ones (LangGraph runs
    them in the same step): a node not planned yet, or a ``Send``."""
    gotos = [goto] if isinstance(goto, (str, Send)) else list(goto)
    pulled = {t.name for t in planned if t.path[0] == "__pregel_pull"}
    pushed = sum(1 for t in planned if t.path[0] == "__pregel_push")
    added: list[Task] = []
    for target in (check_goto(spec, START, g) for g in gotos):
        if isinstance(target, Send):
            index = pushed + len(added)
            path = ("__pregel_push", index, False)
            added.append(Task(spec.nodes[target.node], target.arg, path[:1], path, (1, index)))
        elif target != END and target not in pulled:
            pulled.add(target)
            added.extend(make_tasks(spec, [target], {}, values))
    return added


def resume_answers(pending: Sequence[Task], resume: Any, thread_id: str) -> dict[str, Any]:
    """The answers of ``Command(resume=...)`` by interrupt id: one value for the only
    pending interrupt, or ``{interrupt_id: value}`` for several. ``interrupt()`` takes
    its answer by its id, in whichever (sub)graph's node it was raised. With no pending
    interrupt (a thread stopped by ``interrupt_before``) the value is ignored and the run
    goes on, as in LangGraph."""
    waiting = [i for t in pending for i in t.interrupts]
    if isinstance(resume, dict) and resume and all(any(i.id == k for i in waiting) for k in resume):
        return {i.id: resume[i.id] for i in waiting if i.id in resume}
    if not waiting:  # e.g. at a static breakpoint: the first interrupt() asked takes it
        return {NULL_ANSWER: resume}
    if len(waiting) != 1:
        ids = ", ".join(repr(i.id) for i in waiting)
        raise RuntimeError(  # LangGraph's type and words, so `except RuntimeError` works
            "When there are multiple pending interrupts, you must specify the interrupt id "
            f"when resuming. Thread {thread_id!r} has {len(waiting)} (ids: {ids}): pass "
            "Command(resume={interrupt_id: value, ...})"
        )
    return {waiting[0].id: resume}


def with_managed(spec: GraphSpec, values: dict[str, Any], remaining: int) -> dict[str, Any]:
    """What nodes and branches read: the state, plus the graph's managed keys
    (``RemainingSteps``, ``IsLastStep``) for a step that leaves ``remaining`` steps."""
    if not spec.managed:
        return values
    return {**values, **managed_values(spec.managed, remaining)}


def snapshot(spec: GraphSpec, values: dict[str, Any]) -> Any:
    """A copy of the state, keys in schema order (a root state: its value)."""
    if spec.root:
        return values.get(ROOT)
    return {k: values[k] for k in spec.channels if k in values}


def output_of(spec: GraphSpec, values: dict[str, Any]) -> Any:
    """The run's output: the state filtered to the output schema, or None if empty."""
    if spec.root:
        return values.get(ROOT)
    out = {k: values[k] for k in spec.output_keys if k in values}
    return out or None


def split_deferred(
    spec: GraphSpec, tasks: list[Task], values: dict[str, Any]
) -> tuple[list[Task], list[Task]]:
    """``add_node(defer=True)``: (the tasks to run now, the deferred ones held back).

    A deferred node waits while any other task is planned (LangGraph runs it when the
    run would otherwise end); it then sees the state as it is, not as it was planned.
    """
    now = [t for t in tasks if not t.node.defer]
    if now:
        return now, [t for t in tasks if t.node.defer]
    for task in tasks:
        if task.path[0] != "__pregel_push":
            task.input = spec.node_views[task.name](values)
    return tasks, []


def with_held(planned: list[Task], held: list[Task]) -> list[Task]:
    """The next step's tasks plus the deferred ones still waiting (one per node)."""
    names = {t.name for t in planned if t.path[0] != "__pregel_push"}
    return planned + [t for t in held if t.path[0] == "__pregel_push" or t.name not in names]
