"""A node function that returns a runnable gets it run in its place, as LangGraph's nodes
do (``RunnableCallable(recurse=True)``): with the node's own input and config, a compiled
graph as the node's subgraph, a LangChain ``Runnable`` invoked. Before, the runnable
itself was the node's result (and failed as an update)."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableLambda

from scopegraph import END, START, StateGraph
from scopegraph.types import Command

pytestmark = pytest.mark.anyio


class State(TypedDict):
    a: int


def _subgraph() -> Any:
    return (
        StateGraph(State).add_node("x", lambda s: {"a": s["a"] + 100}).add_edge(START, "x")
    ).compile()


def _graph() -> Any:
    sub = _subgraph()

    def plus_ten(state: State) -> Any:
        return RunnableLambda(lambda st: {"a": st["a"] + 10})

    async def times_three(state: State) -> Any:
        return RunnableLambda(lambda st: {"a": st["a"] * 3})

    def into_subgraph(state: State) -> Any:
        return sub

    return (
        StateGraph(State)
        .add_node("n", plus_ten)
        .add_node("an", times_three)
        .add_node("g", into_subgraph)
        .add_edge(START, "n")
        .add_edge("n", "an")
        .add_edge("an", "g")
        .compile()
    )


async def test_a_returned_runnable_or_graph_runs_in_the_nodes_place() -> None:
    graph = _graph()
    assert await graph.ainvoke({"a": 1}) == {"a": 133}
    chunks = [c async for c in graph.astream({"a": 1}, subgraphs=True)]
    assert [(len(ns), chunk) for ns, chunk in chunks] == [
        (0, {"n": {"a": 11}}),
        (0, {"an": {"a": 33}}),
        (1, {"x": {"a": 133}}),
        (0, {"g": {"a": 133}}),
    ]
    assert chunks[2][0][0].startswith("g:")  # the returned graph ran as g's subgraph


async def test_astream_events_show_the_returned_runnable_as_the_nodes_child() -> None:
    events = [
        (e["event"], e["name"])
        async for e in _graph().astream_events({"a": 1}, version="v2")
        if e["name"] in ("n", "RunnableLambda")
    ][:4]
    assert events == [
        ("on_chain_start", "n"),
        ("on_chain_start", "RunnableLambda"),
        ("on_chain_end", "RunnableLambda"),
        ("on_chain_stream", "n"),
    ]


async def test_other_results_are_not_invoked() -> None:
    def route(state: State) -> Command[Any]:
        return Command(update={"a": 5}, goto=END)

    graph = StateGraph(State).add_node("route", route).add_edge(START, "route").compile()
    assert await graph.ainvoke({"a": 1}) == {"a": 5}


def test_sync_invoke() -> None:
    sub = _subgraph()
    graph = (
        StateGraph(State)
        .add_node("n", lambda s: RunnableLambda(lambda st: {"a": st["a"] + 10}))
        .add_node("g", lambda s: sub)
        .add_edge(START, "n")
        .add_edge("n", "g")
        .compile()
    )
    assert graph.invoke({"a": 1}) == {"a": 111}
