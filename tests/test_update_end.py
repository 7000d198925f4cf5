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
