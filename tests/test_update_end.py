"""``update_state(config, None, as_node=END)``: LangGraph's way to clear a checkpoint's
next tasks and interrupts, keeping what its finished tasks wrote; compared with
LangGraph on asyncio and trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import langgraph.checkpoint.memory
import pytest

from _compare import LG, compare
from scopegraph.checkpoint.memory import InMemorySaver

pytestmark = pytest.mark.anyio


class S(TypedDict):
    log: Annotated[list[str], operator.add]


def _graph(lib: Any) -> Any:
    """START -> p, START -> q (asks), p -> r: p finishes in the step q stops in."""

    def q(state: S) -> dict[str, Any]:
        return {"log": [f"q: {lib.interrupt('continue?')}"]}

    builder = lib.StateGraph(S)
    builder.add_node("p", lambda state: {"log": ["p"]}).add_node("q", q)
    builder.add_node("r", lambda state: {"log": ["r"]})
    builder.add_edge(lib.START, "p").add_edge(lib.START, "q").add_edge("p", "r")
    saver = langgraph.checkpoint.memory.InMemorySaver() if lib is LG else InMemorySaver()
    return builder.compile(checkpointer=saver)


@pytest.mark.parametrize("stop", ["interrupt", "interrupt_before"])
async def test_clearing_keeps_finished_writes_and_ends(anyio_backend: str, stop: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        if stop == "interrupt":
            await graph.ainvoke({"log": ["in"]}, config)
        else:
            await graph.ainvoke({"log": ["in"]}, config, interrupt_before=["p", "q"])
        cleared = await graph.aupdate_state(config, None, as_node=lib.END)
        state = await graph.aget_state(cleared)
        after = await graph.ainvoke(None, config)
        return state.values, state.next, state.tasks, state.metadata["source"], after

    expected, actual = await compare(_graph, scenario)
    assert actual == expected
    values, next_, _, source, after = actual
    assert source == "update"
    if stop == "interrupt":  # p finished: its write stays, and r, where it routed, is next
        assert (values["log"], next_, after["log"]) == (["in", "p"], ("r",), ["in", "p", "r"])
    else:  # nothing ran: nothing is next
        assert (values["log"], next_, after["log"]) == (["in"], (), ["in"])


async def test_an_update_keeps_a_deferred_node_waiting(anyio_backend: str) -> None:
    """a -> b (deferred), a -> c, stopped after a: an update as c leaves b waiting, so
    the next run ends with it, as in LangGraph (it used to be dropped)."""

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(S)
        builder.add_node("a", lambda state: {"log": ["a"]})
        builder.add_node("b", lambda state: {"log": ["b"]}, defer=True)
        builder.add_node("c", lambda state: {})
        builder.add_edge(lib.START, "a").add_edge("a", "b").add_edge("a", "c")
        saver = langgraph.checkpoint.memory.InMemorySaver() if lib is LG else InMemorySaver()
        return builder.compile(checkpointer=saver, interrupt_after=["a"])

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        await graph.ainvoke({"log": ["in"]}, config)
        head = (await graph.aget_state(config)).config
        updated = await graph.aupdate_state(head, {"log": ["u"]}, as_node="c")
        waiting = (await graph.aget_state(updated)).next
        return waiting, await graph.ainvoke(None, config)

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == (("b",), {"log": ["in", "a", "u", "b"]})


async def test_clearing_a_checkpoint_the_thread_moved_past_ignores_an_edit_of_it(
    anyio_backend: str,
) -> None:
    """a -> b, stopped before b; the thread moves on (an update as a), then an update as b
    forks the old checkpoint: clearing that checkpoint keeps only what its tasks wrote,
    as in LangGraph, which stores no update writes on a checkpoint the thread moved past
    (the edit used to be applied as b's result). Its snapshot shows no result for b."""

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(S)
        builder.add_node("a", lambda state: {"log": ["a"]})
        builder.add_node("b", lambda state: {"log": ["b"]})
        builder.add_edge(lib.START, "a").add_edge("a", "b")
        saver = langgraph.checkpoint.memory.InMemorySaver() if lib is LG else InMemorySaver()
        return builder.compile(checkpointer=saver)

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        await graph.ainvoke({"log": ["in"]}, config, interrupt_before=["b"])
        base = (await graph.aget_state(config)).config
        await graph.aupdate_state(config, {"log": ["later"]}, as_node="a")
        edited = await graph.aupdate_state(base, {"log": ["edit"]}, as_node="b")
        cleared = await graph.aupdate_state(base, None, as_node=lib.END)
        results = [t.result for t in (await graph.aget_state(base)).tasks]
        return (
            (await graph.aget_state(cleared)).values,
            results,
            (await graph.aget_state(edited)).values,
        )

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == ({"log": ["in", "a"]}, [None], {"log": ["in", "a", "edit"]})
