"""``update_state(config, [StateUpdate(...)], as_node="__copy__")``: fork and update in one.

LangGraph copies the checkpoint (a sibling: same parent, values and planned tasks) and
applies the updates to the copy as the results of the tasks it planned, so the history
shows the fork's tasks with the new results and a run from the returned config goes on
after them. Before, scopegraph made the copy and dropped the updates: a run from a copy
of an input checkpoint then failed (its input was not stored).
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict

import pytest

from scopegraph import END, START, StateGraph, StateSnapshot
from scopegraph.checkpoint import BaseCheckpointSaver, SqliteSaver
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.errors import InvalidUpdateError
from scopegraph.types import Command, Send, StateUpdate

pytestmark = pytest.mark.anyio


def _chain(a: str, b: str) -> str:
    return f"{a} > {b}" if a else b


class State(TypedDict):
    name: Annotated[str, _chain]


@pytest.fixture(params=["memory", "sqlite"])
async def saver(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> AsyncIterator[BaseCheckpointSaver]:
    if request.param == "memory":
        yield InMemorySaver()
        return
    async with SqliteSaver(tmp_path / "threads.db") as sqlite:
        yield sqlite


def _graph(saver: BaseCheckpointSaver) -> Any:
    """one (and a Send to two) -> two -> three: the step after one runs two twice."""

    def one(state: State) -> Command[Any]:
        return Command(goto=[Send("two", {})], update={"name": "one"})

    def two(state: State) -> dict[str, str]:
        return {"name": "two"}

    def three(state: State) -> dict[str, str]:
        return {"name": "three"}

    return (
        StateGraph(State)
        .add_node("one", one)
        .add_node("two", two)
        .add_node("three", three)
        .add_edge(START, "one")
        .add_edge("one", "two")
        .add_edge("two", "three")
        .add_edge("three", END)
        .compile(checkpointer=saver)
    )


async def _history(graph: Any, config: Any) -> list[StateSnapshot]:
    return [s async for s in graph.aget_state_history(config)]


def _forked(history: list[StateSnapshot]) -> StateSnapshot:
    (fork,) = [s for s in history if s.metadata is not None and s.metadata["source"] == "fork"]
    return fork


def _results(snapshot: StateSnapshot) -> list[tuple[str, Any]]:
    return [(t.name, t.result) for t in snapshot.tasks]


async def test_fork_of_the_input_checkpoint_with_a_new_input_runs_from_it(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _graph(saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"name": "start"}, config)
    first = (await _history(graph, config))[-1]
    assert first.metadata is not None
    assert first.metadata["source"] == "input"
    fork = await graph.aupdate_state(
        first.config, [StateUpdate({"name": "start*"}, "__start__")], as_node="__copy__"
    )
    out = await graph.ainvoke(None, fork)
    assert out == {"name": "start* > one > two > two > three"}
    history = await _history(graph, config)
    copy = _forked(history)
    assert copy.parent_config is None
    assert _results(copy) == [("__start__", {"name": "start*"})]
    assert _results(first) == [("__start__", {"name": "start"})]


async def test_fork_with_updates_as_the_planned_tasks_of_one_node(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _graph(saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"name": "start"}, config)
    before_two = next(s for s in await _history(graph, config) if s.next == ("two", "two"))
    fork = await graph.aupdate_state(
        before_two.config,
        [StateUpdate({"name": "2a"}, "two"), StateUpdate({"name": "2b"}, "two")],
        "__copy__",
    )
    copy = await graph.aget_state({"configurable": {**fork["configurable"], "checkpoint_id": None}})
    assert copy.values == {"name": "start > one > 2a > 2b"}
    assert copy.next == ("three",)
    out = await graph.ainvoke(None, fork)
    assert out == {"name": "start > one > 2a > 2b > three"}
    forked = _forked(await _history(graph, config))
    assert forked.parent_config == before_two.parent_config
    # Each update is the result of one of the tasks the copy planned, in order.
    assert _results(forked) == [("two", {"name": "2a"}), ("two", {"name": "2b"})]


async def test_fork_with_updates_of_a_task_the_copy_did_not_plan_gets_its_own_id(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _graph(saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"name": "start"}, config)
    before_three = next(s for s in await _history(graph, config) if s.next == ("three",))
    fork = await graph.aupdate_state(
        before_three.config,
        [StateUpdate({"name": "x"}, "three"), StateUpdate({"name": "y"}, "three")],
        "__copy__",
    )
    assert (await graph.aget_state(fork)).values["name"].endswith("two > x > y")


async def test_fork_refuses_updates_it_cannot_apply(saver: BaseCheckpointSaver) -> None:
    graph = _graph(saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"name": "start"}, config)
    with pytest.raises(InvalidUpdateError, match="values must be None"):
        await graph.aupdate_state(config, {"name": "x"}, as_node="__copy__")
    before = await graph.aget_state(config)
    plain = await graph.aupdate_state(config, {}, as_node="__copy__")  # nothing to apply
    copied = await graph.aget_state(plain)
    assert copied.metadata is not None
    assert copied.metadata["source"] == "fork"
    assert copied.values == before.values
    with pytest.raises(InvalidUpdateError, match="Invalid update item"):
        await graph.aupdate_state(config, ["x"], as_node="__copy__")
    with pytest.raises(InvalidUpdateError, match="needs an as_node"):
        await graph.aupdate_state(config, [StateUpdate({"name": "x"}, None)], "__copy__")


def test_fork_and_update_sync(tmp_path: pathlib.Path) -> None:
    graph = _graph(InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke({"name": "start"}, config)
    first = list(graph.get_state_history(config))[-1]
    fork = graph.update_state(first.config, [StateUpdate({"name": "s"}, "__start__")], "__copy__")
    assert graph.invoke(None, fork) == {"name": "s > one > two > two > three"}
