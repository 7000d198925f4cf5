"""The Pregel algorithm, pure: turn node results into writes, apply writes, plan tasks.

No I/O, no task group, no clock: every function here takes the values and tables it
works on and returns (or fills in) the result, so it is tested directly
(tests/test_pregel_algo.py). The loop (:mod:`._loop`) calls these between supersteps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from .._constants import END, START
from .._errors import InvalidUpdateError
from .._schema import MISSING, Reducer
from .._spec import Branch, GraphSpec
from .._types import Command, Send
from ..checkpoint._base import Checkpoint, CheckpointNotFoundError
from ._task import ParentCommand, Task, planned_paths, task_id

__all__ = (
    "TROUBLESHOOTING",
    "apply_writes",
    "check_route",
    "collect",
    "resume_answers",
    "make_tasks",
    "output_of",
    "plan_next",
    "snapshot",
    "split_deferred",
    "start_task",
    "tasks_from_checkpoint",
    "updated_values",
    "with_held",
)

TROUBLESHOOTING = "https://docs.langchain.com/oss/python/langgraph/errors/"

Target = str | Send


def start_task(spec: GraphSpec, input: Any = None) -> Task:
    """The ``__start__`` task, whose writes are the run's input."""
    return Task(spec.start_node, input, (START,), ("__pregel_pull", START), (0, START))


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


def updated_values(
    values: dict[str, Any], reducers: Mapping[str, Reducer | None], writes: Any
) -> dict[str, Any]:
    """``values`` with one task's writes applied, as a copy (what its branches see)."""
    fresh = dict(values)
    for key, value in writes:
        reducer = reducers[key]
        current = fresh.get(key, MISSING)
        fresh[key] = value if reducer is None or current is MISSING else reducer(current, value)
    return fresh


# -- a node's result ------------------------------------------------------------------------


def collect(spec: GraphSpec, task: Task, result: Any, *, subgraph: bool) -> None:
    """Turn a node's return value into the task's writes and its static routes.

    Fills ``task.writes``, ``task.update`` and ``task.next`` (edges, then ``Command``
    gotos); the caller adds the routes of the node's conditional edges. ``subgraph``:
    this run is a subgraph, where ``Command(graph=Command.PARENT)`` is allowed.
    """
    name = task.name
    gotos: Sequence[Any] = ()
    if result is None:
        update = None
    elif type(result) is dict or isinstance(result, Mapping):
        update = result
    elif isinstance(result, Command) or (
        isinstance(result, (list, tuple)) and result and all(isinstance(c, Command) for c in result)
    ):
        update, gotos = from_commands(spec, name, result, subgraph=subgraph)
    else:
        update = spec.state_schema.object_to_update(result)
        if update is None:
            raise InvalidUpdateError(
                f"Expected dict, got {result}: node {name!r} must return a dict of state "
                "updates, a Command, or None\n"
                f"For troubleshooting, visit: {TROUBLESHOOTING}INVALID_GRAPH_NODE_RETURN_VALUE"
            )
    if update:
        channels = spec.reducers
        if task.node.kind == "graph":
            update = {k: v for k, v in update.items() if k in channels}
        elif not update.keys() <= channels.keys():
            unknown = [k for k in update if k not in channels]
            raise InvalidUpdateError(
                f"node {name!r} wrote the key {unknown[0]!r}, which is not in the state "
                f"schema {spec.state_schema.name}; add {unknown[0]!r} to the schema or "
                "stop returning it"
            )
        task.writes = list(update.items())
        task.update = update
    else:
        task.update = None
    nxt = task.next
    nxt.extend(spec.edges_from.get(name, ()))
    for goto in gotos:
        nxt.append(check_goto(spec, name, goto))


def from_commands(
    spec: GraphSpec, name: str, result: Any, *, subgraph: bool
) -> tuple[dict[str, Any], list[Any]]:
    """The update and the gotos of one ``Command`` or a list of them, from node ``name``."""
    commands = [result] if isinstance(result, Command) else list(result)
    update: dict[str, Any] = {}
    gotos: list[Any] = []
    for command in commands:
        if command.graph == Command.PARENT:
            if not subgraph:
                raise InvalidUpdateError(
                    f"node {name!r} returned Command(graph=Command.PARENT) but this "
                    "graph is not a subgraph; drop graph=Command.PARENT"
                )
            raise ParentCommand(command)
        if command.graph is not None:
            raise InvalidUpdateError(
                f"node {name!r} returned Command(graph={command.graph!r}); graph must "
                "be None or Command.PARENT"
            )
        update.update(_command_update(spec, name, command.update))
        goto = command.goto
        if isinstance(goto, (str, Send)):
            gotos.append(goto)
        else:
            gotos.extend(goto)
    return update, gotos


def _command_update(spec: GraphSpec, name: str, cu: Any) -> Mapping[str, Any]:
    if cu is None:
        return {}
    if isinstance(cu, Mapping):
        return cu
    if isinstance(cu, (list, tuple)) and all(
        isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) for t in cu
    ):
        return dict(cu)
    obj = spec.state_schema.object_to_update(cu)
    if obj is None:
        raise InvalidUpdateError(
            f"node {name!r} returned Command(update={cu!r}); the update must "
            "be a dict of state keys, a list of (key, value) pairs, or None"
        )
    return obj


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


def resume_answers(pending: Sequence[Task], resume: Any, thread_id: str) -> dict[str, Any]:
    """The answers of ``Command(resume=...)`` by interrupt id: one value for the only
    pending interrupt, or ``{interrupt_id: value}`` for several. ``interrupt()`` takes
    its answer by its id, in whichever (sub)graph's node it was raised."""
    waiting = [i for t in pending for i in t.interrupts]
    if isinstance(resume, dict) and resume and all(any(i.id == k for i in waiting) for k in resume):
        return {i.id: resume[i.id] for i in waiting if i.id in resume}
    if len(waiting) != 1:
        ids = ", ".join(repr(i.id) for i in waiting) or "none"
        raise RuntimeError(  # LangGraph's type, so `except RuntimeError` handlers work
            f"Command(resume=...) with one value needs exactly one pending interrupt, but "
            f"thread {thread_id!r} has {len(waiting)} (ids: {ids}); resume each by its "
            "interrupt id: Command(resume={interrupt_id: value, ...})"
        )
    return {waiting[0].id: resume}


def snapshot(spec: GraphSpec, values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the state, keys in schema order."""
    return {k: values[k] for k in spec.channels if k in values}


def output_of(spec: GraphSpec, values: dict[str, Any]) -> Any:
    """The run's output: the state filtered to the output schema, or None if empty."""
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
