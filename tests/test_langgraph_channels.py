"""LangGraph's reducer channels given as ``Annotated`` metadata instances: scopegraph
reads ``DeltaChannel(reducer)`` (a batch reducer, ``reducer(state, [writes])``) and
``BinaryOperatorAggregate(typ, operator)`` as reducers of the key, so a state schema
written for LangGraph keeps its merge semantics (it used to become a last-value key,
losing every earlier write). The values are stored whole (LangGraph's DeltaChannel
stores writes and replays them: a storage layout, not a result). asyncio and trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired, TypedDict

import pytest
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.channels.delta import DeltaChannel
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.checkpoint.memory import InMemorySaver as LangGraphSaver

from _compare import LG, compare
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.graph import START, StateGraph

pytestmark = pytest.mark.anyio

batches: list[list[Any]] = []


def append_all(state: list[str], writes: list[list[str]]) -> list[str]:
    batches.append(writes)
    return [*state, *(item for write in writes for item in write)]


class State(TypedDict):
    log: Annotated[list[str], DeltaChannel(append_all)]
    total: Annotated[int, BinaryOperatorAggregate(int, operator.add)]


async def test_langgraph_reducer_channels_merge_writes(anyio_backend: str) -> None:
    batches.clear()

    async def a(state: State) -> dict[str, Any]:
        return {"log": ["a"], "total": 1}

    async def b(state: State) -> dict[str, Any]:
        return {"log": ["b"], "total": 10}

    graph = (
        StateGraph(State)
        .add_node("a", a)
        .add_node("b", b)
        .add_edge(START, "a")
        .add_edge(START, "b")
        .compile(checkpointer=InMemorySaver())
    )
    config: Any = {"configurable": {"thread_id": "t"}}
    first = await graph.ainvoke({"log": ["in"], "total": 100}, config)
    assert first == {"log": ["in", "a", "b"], "total": 111}
    second = await graph.ainvoke({"log": ["again"]}, config)  # the thread's state goes on
    assert second == {"log": ["in", "a", "b", "again", "a", "b"], "total": 122}
    assert all(len(batch) == 1 for batch in batches)  # folded one write at a time
    state = await graph.aget_state(config)
    assert state.values == second


class Flagged(TypedDict):
    log: Annotated[list[str], operator.add]
    flag: NotRequired[Annotated[str | None, EphemeralValue]]


async def test_an_ephemeral_value_is_seen_by_the_next_step_only(anyio_backend: str) -> None:
    """``Annotated[T, EphemeralValue]``: what a step writes, the next step (and the edge
    after the writer) sees; a step that does not write it clears it; so does the input of
    the thread's next run. Kept as a last value, ``c`` and the second run's ``a`` would
    still see ``"up"``."""

    def build(lib: Any) -> Any:
        def a(state: Flagged) -> dict[str, Any]:
            seen = state.get("flag")
            return {"log": [f"a saw {seen}"], "flag": None if seen else "up"}

        def b(state: Flagged) -> dict[str, Any]:
            return {"log": [f"b saw {state.get('flag')}"]}

        def c(state: Flagged) -> dict[str, Any]:
            return {"log": [f"c saw {state.get('flag')}"], "flag": "left over"}

        def route(state: Flagged) -> str:
            return "b" if state.get("flag") == "up" else lib.END

        builder = lib.StateGraph(Flagged)
        builder.add_node("a", a).add_node("b", b).add_node("c", c)
        builder.add_edge(lib.START, "a").add_conditional_edges("a", route)
        builder.add_edge("b", "c")
        saver = LangGraphSaver() if lib is LG else InMemorySaver()
        return builder.compile(checkpointer=saver)

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "e"}}
        first = [c async for c in graph.astream({"log": []}, config, stream_mode="values")]
        second = await graph.ainvoke({"log": ["again"]}, config)
        return first, second, (await graph.aget_state(config)).values

    expected, actual = await compare(build, scenario)
    assert actual == expected
    first, second, _ = actual
    assert first[-1]["log"] == ["a saw None", "b saw up", "c saw None"]
    assert first[-1]["flag"] == "left over"
    assert second["log"][-4:] == ["again", "a saw None", "b saw up", "c saw None"]


async def test_update_state_is_a_step_that_clears_an_unwritten_ephemeral_value(
    anyio_backend: str,
) -> None:
    def build(lib: Any) -> Any:
        def mark(state: Flagged) -> dict[str, Any]:
            return {"log": ["marked"], "flag": "set"}

        builder = lib.StateGraph(Flagged)
        builder.add_node("mark", mark).add_edge(lib.START, "mark")
        saver = LangGraphSaver() if lib is LG else InMemorySaver()
        return builder.compile(checkpointer=saver)

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "u"}}
        await graph.ainvoke({"log": []}, config)
        before = (await graph.aget_state(config)).values
        await graph.aupdate_state(config, {"log": ["noted"]}, as_node="mark")
        return before, (await graph.aget_state(config)).values

    expected, actual = await compare(build, scenario)
    assert actual == expected
    before, after = actual
    assert before["flag"] == "set"
    assert "flag" not in after


async def test_two_writes_of_an_ephemeral_value_in_one_step_are_refused(
    anyio_backend: str,
) -> None:
    def build(lib: Any) -> Any:
        def write(state: Flagged) -> dict[str, Any]:
            return {"flag": "x"}

        builder = lib.StateGraph(Flagged)
        builder.add_node("p", write).add_node("q", write)
        builder.add_edge(lib.START, "p").add_edge(lib.START, "q")
        return builder.compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        with pytest.raises(lib.InvalidUpdateError) as caught:
            await graph.ainvoke({"log": []})
        return type(caught.value).__name__

    expected, actual = await compare(build, scenario)
    assert actual == expected == "InvalidUpdateError"
