"""The Pregel algorithm on its own: no run, no task group, no I/O (scopegraph._pregel._algo)."""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any, TypedDict

import pytest

from scopegraph import END, START, Command, InvalidUpdateError, Send, StateGraph
from scopegraph._pregel import Run, _algo
from scopegraph._pregel._task import Task, task_id
from scopegraph._spec import GraphSpec
from scopegraph._types import Interrupt
from scopegraph.checkpoint import Checkpoint, CheckpointNotFoundError
from scopegraph.errors import ParentCommand


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    last: str


def _noop(state: State) -> None:
    return None


def _spec(*, strict: bool = False) -> GraphSpec:
    builder = StateGraph(State)
    for name in ("a", "b", "c", "join"):
        builder.add_node(name, _noop)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "c")
    builder.add_edge(["b", "c"], "join")
    builder.add_edge("join", END)
    return GraphSpec.build(builder, "test", strict=strict)


def _ran(spec: GraphSpec, name: str) -> Task:
    task = Task(spec.nodes[name], {}, (), ("__pregel_pull", name), (0, name))
    _algo.collect(spec, task, None, subgraph=False)
    return task


def test_apply_writes_reduces_and_overwrites() -> None:
    spec = _spec()
    values: dict[str, Any] = {"log": ["x"]}
    updated = _algo.apply_writes(values, spec.reducers, [("log", ["y"]), ("last", "y")], "n", 1)
    assert updated
    assert values == {"log": ["x", "y"], "last": "y"}
    assert not _algo.apply_writes(values, spec.reducers, [], "n", 1)


def test_two_writers_of_a_last_value_key_in_one_step_is_an_error_naming_both() -> None:
    spec = _spec()
    values: dict[str, Any] = {}
    written: dict[str, str] = {}
    _algo.apply_writes(values, spec.reducers, [("last", "b")], "b", 3, written)
    with pytest.raises(InvalidUpdateError, match=r"nodes 'b' and 'c' both wrote it in step 3"):
        _algo.apply_writes(values, spec.reducers, [("last", "c")], "c", 3, written)
    # Reducer keys may be written by every node of a step.
    _algo.apply_writes(values, spec.reducers, [("log", ["b"])], "b", 3, written)
    _algo.apply_writes(values, spec.reducers, [("log", ["c"])], "c", 3, written)
    assert values["log"] == ["b", "c"]


def test_updated_values_copies() -> None:
    spec = _spec()
    values: dict[str, Any] = {"log": ["x"]}
    fresh = _algo.updated_values(values, spec.reducers, [("log", ["y"])])
    assert fresh == {"log": ["x", "y"]}
    assert values == {"log": ["x"]}


def test_plan_next_fans_out_in_name_order_and_waits_for_every_source_of_a_join() -> None:
    spec = _spec()
    barriers: dict[int, set[str]] = {}
    after_a = _algo.plan_next(spec, [_ran(spec, "a")], barriers, {})
    assert [t.name for t in after_a] == ["b", "c"]
    # Only b has run: the join waits, and remembers b.
    assert _algo.plan_next(spec, [_ran(spec, "b")], barriers, {}) == []
    assert barriers == {0: {"b"}}
    after_c = _algo.plan_next(spec, [_ran(spec, "c")], barriers, {})
    assert [(t.name, t.triggers) for t in after_c] == [
        ("join", ("branch:to:join", "join:b+c:join"))
    ]
    assert barriers == {0: set()}


def test_make_tasks_puts_sends_first_in_order_then_pull_tasks_by_name() -> None:
    spec = _spec()
    targets: list[str | Send] = ["c", Send("b", {"n": 1}), "a", Send("b", {"n": 2}), END]
    tasks = _algo.make_tasks(spec, targets, {}, {})
    assert [(t.name, t.path) for t in tasks] == [
        ("b", ("__pregel_push", 0, False)),
        ("b", ("__pregel_push", 1, False)),
        ("a", ("__pregel_pull", "a")),
        ("c", ("__pregel_pull", "c")),
    ]
    assert [t.input for t in tasks[:2]] == [{"n": 1}, {"n": 2}]
    assert _algo.make_tasks(spec, [END], {}, {}) == []


def test_collect_turns_a_command_into_writes_and_routes() -> None:
    spec = _spec()
    task = Task(spec.nodes["a"], {}, (), ("__pregel_pull", "a"), (0, "a"))
    _algo.collect(spec, task, Command(update={"last": "a"}, goto=Send("c", 1)), subgraph=False)
    assert task.writes == [("last", "a")]
    assert task.next == ["b", "c", Send("c", 1)]


def test_collect_drops_unknown_keys_as_langgraph_and_strict_rejects_them() -> None:
    task = Task(_spec().nodes["a"], {}, (), ("__pregel_pull", "a"), (0, "a"))
    _algo.collect(_spec(), task, {"nope": 1, "last": "a"}, subgraph=False)
    assert task.writes == [("last", "a")]
    assert task.update == {"last": "a"}
    strict = _spec(strict=True)
    task = Task(strict.nodes["a"], {}, (), ("__pregel_pull", "a"), (0, "a"))
    with pytest.raises(InvalidUpdateError, match="wrote the key 'nope'"):
        _algo.collect(strict, task, {"nope": 1}, subgraph=False)


def test_collect_keeps_every_write_of_a_key_and_updates_lists_them() -> None:
    spec = _spec()
    task = Task(spec.nodes["a"], {}, (), ("__pregel_pull", "a"), (0, "a"))
    result = [Command(update={"log": ["1"]}), {"log": ["2"]}, Command(update=[("last", "x")])]
    _algo.collect(spec, task, result, subgraph=False)
    assert task.writes == [("log", ["1"]), ("log", ["2"]), ("last", "x")]
    assert task.update == [{"log": ["1"]}, {"log": ["2"]}, {"last": "x"}]


def test_collect_rejects_parent_commands_outside_a_subgraph_and_unknown_gotos() -> None:
    spec = _spec()
    task = Task(spec.nodes["a"], {}, (), ("__pregel_pull", "a"), (0, "a"))
    with pytest.raises(ParentCommand) as raised:  # LangGraph's: the root run raises it
        _algo.collect(spec, task, Command(graph=Command.PARENT), subgraph=False)
    assert raised.value.args[0] == Command(graph=Command.PARENT)
    assert "is not a subgraph" in "".join(raised.value.__notes__)
    with pytest.raises(InvalidUpdateError, match="'nowhere' is not a node"):
        _algo.collect(spec, task, Command(goto="nowhere"), subgraph=False)


def test_check_route_maps_and_checks_a_path_result() -> None:
    spec = _spec()
    builder = StateGraph(State)
    builder.add_conditional_edges("a", lambda s: "go", {"go": "b", "stop": END})
    branch = builder.branches["a"][0]
    assert _algo.check_route(spec, branch, "a", "go") == ["b"]
    assert _algo.check_route(spec, branch, "a", ["stop"]) == []
    with pytest.raises(InvalidUpdateError, match="not a key of its path_map"):
        _algo.check_route(spec, branch, "a", "other")
    with pytest.raises(InvalidUpdateError, match="returned None"):
        _algo.check_route(spec, branch, "a", None)


def test_give_resume_by_interrupt_id_or_to_the_only_interrupt() -> None:
    spec = _spec()
    one = Task(spec.nodes["b"], {}, (), ("__pregel_pull", "b"), (0, "b"))
    two = Task(spec.nodes["c"], {}, (), ("__pregel_pull", "c"), (0, "c"))
    one.interrupts = [Interrupt("q1", "i1")]
    two.interrupts = [Interrupt("q2", "i2")]
    assert _algo.resume_answers([one, two], {"i2": "answer"}, "t") == {"i2": "answer"}
    with pytest.raises(RuntimeError, match="multiple pending interrupts, you must specify"):
        _algo.resume_answers([one, two], "ambiguous", "t")
    assert _algo.resume_answers([one], "only", "t") == {"i1": "only"}
    # LangGraph goes on: the first interrupt() asked later takes the answer
    assert _algo.resume_answers([], "nothing waits", "t") == {_algo.NULL_ANSWER: "nothing waits"}


def test_tasks_from_checkpoint_rebuilds_the_planned_tasks_with_stable_ids() -> None:
    spec = _spec()
    checkpoint = Checkpoint(
        id="cp-1",
        parent_id=None,
        step=1,
        created_at="",
        values={"log": []},
        next=[("push", "b", {"n": 1}), ("pull", "c", ("branch:to:c",))],
        barriers={},
        metadata={},
    )
    tasks = _algo.tasks_from_checkpoint(spec, checkpoint, {"log": []}, "t")
    assert [(t.name, t.input) for t in tasks] == [("b", {"n": 1}), ("c", {"log": []})]
    assert [t.id for t in tasks] == [task_id("cp-1", t.path) for t in tasks]
    unknown = Checkpoint("cp-2", None, 1, "", {}, [("pull", "gone", ())], {}, {})
    with pytest.raises(CheckpointNotFoundError, match="plans node 'gone'"):
        _algo.tasks_from_checkpoint(spec, unknown, {}, "t")


def test_a_run_is_built_from_frozen_options() -> None:
    builder = StateGraph(State)
    builder.add_node("a", _noop)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile()
    run = Run(graph._options({"log": []}, None, stream_mode="values", options={}), {"log": []})
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.opts.persist = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.opts.stream.modes = frozenset()  # type: ignore[misc]
    # A plain ainvoke(input) reuses the graph's options.
    plain = graph._options({"log": []}, None, stream_mode=None, options={})
    assert graph._options({"log": ["x"]}, None, stream_mode=None, options={}) is plain
