"""The bridge for LangGraph graphs (``scopegraph.langgraph.bridge``), on real LangGraph.

The seed scenario: a node streams events and, when cancelled, does a shielded cleanup.
Through the bridge the cleanup completes, before the consumer sees its cancellation, and
no task of the run is left. Without the bridge the same scenario loses the cleanup (the
reported bug), which shows the tests can fail. Each guarantee the bridge does not give
has a test too: trio, and sync nodes.

LangGraph runs on asyncio only, so these tests do as well, except the one about trio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypedDict

import anyio
import pytest
from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

from _helpers import no_task_left
from scopegraph.langgraph import BridgedGraph, bridge

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class State(TypedDict):
    n: int


class Probe:
    """What the node did, in order, and an Event per milestone."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.ticked = anyio.Event()
        self.ticks = 0

    def note(self, line: str) -> None:
        self.log.append(line)


def seed_graph(probe: Probe) -> Any:
    async def node(state: State, config: RunnableConfig) -> dict[str, int]:
        try:
            for i in range(1000):
                await adispatch_custom_event("chunk", {"i": i}, config=config)
                get_stream_writer()({"i": i})
                probe.ticks += 1
                if i == 2:
                    probe.ticked.set()
                await anyio.sleep(0.005)
            return {"n": 1}
        except anyio.get_cancelled_exc_class():
            probe.note("node cancelled")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await anyio.sleep(0.05)
                    probe.note("node cleanup done")
                except BaseException as exc:
                    probe.note(f"node cleanup died: {type(exc).__name__}")

    graph = StateGraph(State)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    graph.add_edge("node", END)
    return graph.compile()


Consume = Callable[[Any], Any]


async def consume_events(graph: Any) -> None:
    async for _ in graph.astream_events({"n": 0}, version="v2"):
        pass


async def consume_custom(graph: Any) -> None:
    async for _ in graph.astream({"n": 0}, stream_mode="custom"):
        pass


async def consume_invoke(graph: Any) -> None:
    await graph.ainvoke({"n": 0})


CONSUMERS = {"astream_events": consume_events, "astream": consume_custom, "ainvoke": consume_invoke}


async def cancel_consumer(graph: Any, probe: Probe, consume: Consume) -> None:
    """Run ``consume(graph)`` in a task and cancel it once the node has ticked 3 times."""

    async def consumer() -> None:
        try:
            await consume(graph)
        except anyio.get_cancelled_exc_class():
            probe.note("consumer cancelled")
            raise

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        await probe.ticked.wait()
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("api", sorted(CONSUMERS))
async def test_bridge_completes_cleanup_before_the_consumer_sees_cancel(api: str) -> None:
    probe = Probe()
    graph = bridge(seed_graph(probe))
    with no_task_left():
        await cancel_consumer(graph, probe, CONSUMERS[api])
    assert probe.log == ["node cancelled", "node cleanup done", "consumer cancelled"]


@pytest.mark.parametrize("api", ["astream_events", "astream"])
async def test_bridge_consumer_that_stops_early(api: str) -> None:
    probe = Probe()
    graph = bridge(seed_graph(probe))
    with no_task_left():
        stream = (
            graph.astream_events({"n": 0}, version="v2")
            if api == "astream_events"
            else graph.astream({"n": 0}, stream_mode="custom")
        )
        async for _ in stream:
            if probe.ticked.is_set():
                break
        await stream.aclose()
        probe.note("consumer stopped")
    assert probe.log == ["node cancelled", "node cleanup done", "consumer stopped"]
    ticks = probe.ticks
    await anyio.sleep(0.05)  # nothing keeps ticking after the call returned
    assert probe.ticks == ticks


async def test_bridged_results_equal_langgraph_results() -> None:
    class Counter(TypedDict):
        n: int

    async def inc(state: Counter) -> dict[str, int]:
        get_stream_writer()({"at": state["n"]})
        return {"n": state["n"] + 1}

    builder = StateGraph(Counter)
    builder.add_node("a", inc)
    builder.add_node("b", inc)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    plain: Any = builder.compile()
    bridged = bridge(plain)
    assert await bridged.ainvoke({"n": 0}) == await plain.ainvoke({"n": 0}) == {"n": 2}
    modes = ["updates", "custom", "values"]
    assert [c async for c in bridged.astream({"n": 0}, stream_mode=modes)] == [
        c async for c in plain.astream({"n": 0}, stream_mode=modes)
    ]


async def test_bridge_passes_errors_on() -> None:
    async def boom(state: State) -> dict[str, int]:
        raise ValueError("boom")

    builder = StateGraph(State)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    builder.add_edge("boom", END)
    graph = bridge(builder.compile())
    with no_task_left(), pytest.raises(ValueError, match="boom"):
        await graph.ainvoke({"n": 0})
    with no_task_left(), pytest.raises(ValueError, match="boom"):
        async for _ in graph.astream({"n": 0}):
            pass


async def test_without_the_bridge_langgraph_loses_the_cleanup() -> None:
    """The reported bug, reproduced by the same scenario: this is what the bridge fixes."""
    probe = Probe()
    await cancel_consumer(seed_graph(probe), probe, consume_events)
    await anyio.sleep(0.1)  # let LangGraph's leftovers finish, to read what they printed
    assert "node cleanup done" not in probe.log
    assert "node cleanup died: CancelledError" in probe.log


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_not_guaranteed_trio(anyio_backend: str) -> None:
    """LangGraph does not run on trio; the bridge says so instead of failing oddly."""
    graph = bridge(seed_graph(Probe()))
    with pytest.raises(RuntimeError, match="asyncio only"):
        await graph.ainvoke({"n": 0})


async def test_not_guaranteed_sync_nodes() -> None:
    """A sync node runs in one of LangGraph's executor threads, which nothing can cancel:
    the bridged call returns while the node is still running."""
    entered = threading.Event()
    release = threading.Event()
    finished: list[str] = []

    def blocking(state: State) -> dict[str, int]:
        entered.set()
        release.wait(10)
        finished.append("sync node finished")
        return {"n": 1}

    builder = StateGraph(State)
    builder.add_node("blocking", blocking)
    builder.add_edge(START, "blocking")
    builder.add_edge("blocking", END)
    graph = bridge(builder.compile())

    async with anyio.create_task_group() as tg:
        tg.start_soon(graph.ainvoke, {"n": 0})
        await anyio.to_thread.run_sync(entered.wait)
        tg.cancel_scope.cancel()
    assert finished == []  # returned, yet the node's thread is still inside the node
    release.set()
    await anyio.to_thread.run_sync(lambda: _wait_for(finished))
    assert finished == ["sync node finished"]


def _wait_for(items: list[str]) -> None:
    for _ in range(1000):
        if items:
            return
        threading.Event().wait(0.01)


def test_bridge_refuses_what_is_not_a_langgraph_graph() -> None:
    with pytest.raises(TypeError, match="compiled LangGraph graph"):
        bridge(object())  # type: ignore[arg-type]
    assert isinstance(bridge(seed_graph(Probe())), BridgedGraph)


class AskState(TypedDict):
    answer: str


def ask_graph() -> Any:
    """One node that asks a human (LangGraph's interrupt) and stores the answer."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import interrupt

    def ask(state: AskState) -> dict[str, str]:
        return {"answer": interrupt("your name?")}

    builder = StateGraph(AskState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("entry", ["ainvoke", "astream", "astream_events", "open_stream"])
async def test_bridge_resumes_with_scopegraphs_command(entry: str) -> None:
    """scopegraph's Command(resume=...) resumes a bridged human-in-the-loop graph through
    every entry point (ainvoke and astream used to pass it on unconverted: LangGraph took
    it as new input and the graph asked again)."""
    from scopegraph.types import Command

    graph = bridge(ask_graph())
    config: dict[str, Any] = {"configurable": {"thread_id": f"resume-{entry}"}}
    first = await graph.ainvoke({"answer": ""}, config)
    assert [i.value for i in first["__interrupt__"]] == ["your name?"]
    command: Command[Any] = Command(resume="Ada")
    if entry == "ainvoke":
        await graph.ainvoke(command, config)
    elif entry == "astream":
        [c async for c in graph.astream(command, config)]
    elif entry == "astream_events":
        [e async for e in graph.astream_events(command, config)]
    else:
        async with graph.open_stream(command, config) as stream:
            [c async for c in stream]
    state = await graph.aget_state(config)
    assert state.values == {"answer": "Ada"}
    assert not state.next
