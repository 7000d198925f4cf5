"""Graph lifecycle callbacks (``scopegraph.callbacks``, LangGraph's ``langgraph.callbacks``).

A :class:`GraphCallbackHandler` in ``config["callbacks"]`` hears when a root run stops at
interrupts (``on_interrupt``) and when a run resumes from a checkpoint (``on_resume``,
before the first node runs). Sync and async handlers, plain lists and LangChain managers,
failing handlers; on asyncio and trio.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

import anyio
import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManager

from scopegraph.callbacks import (
    GraphCallbackHandler,
    GraphInterruptEvent,
    GraphResumeEvent,
    get_async_graph_callback_manager_for_config,
    get_sync_graph_callback_manager_for_config,
)
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.graph import START, StateGraph
from scopegraph.types import Command, Interrupt, interrupt

pytestmark = pytest.mark.anyio


class State(TypedDict):
    answer: str | None


class Recorder(GraphCallbackHandler):
    def __init__(self, log: list[str] | None = None) -> None:
        self.events: list[GraphInterruptEvent | GraphResumeEvent] = []
        self.log = log if log is not None else []

    def on_interrupt(self, event: GraphInterruptEvent) -> Any:
        self.events.append(event)
        self.log.append("on_interrupt")

    def on_resume(self, event: GraphResumeEvent) -> Any:
        self.events.append(event)
        self.log.append("on_resume")


class AsyncRecorder(GraphCallbackHandler):
    def __init__(self) -> None:
        self.events: list[GraphInterruptEvent | GraphResumeEvent] = []

    async def on_interrupt(self, event: GraphInterruptEvent) -> Any:
        await anyio.lowlevel.checkpoint()
        self.events.append(event)

    async def on_resume(self, event: GraphResumeEvent) -> Any:
        await anyio.lowlevel.checkpoint()
        self.events.append(event)


class Raising(GraphCallbackHandler):
    def __init__(self, *, raise_error: bool) -> None:
        self.raise_error = raise_error

    def on_interrupt(self, event: GraphInterruptEvent) -> Any:
        raise ValueError("boom-interrupt")

    def on_resume(self, event: GraphResumeEvent) -> Any:
        raise ValueError("boom-resume")


class Plain(BaseCallbackHandler):
    """Not a graph handler: gets no lifecycle event (it has no such method)."""


def _graph(log: list[str] | None = None, **compile_kw: Any) -> Any:
    def ask(state: State) -> State:
        if log is not None:
            log.append("ask")
        return {"answer": interrupt("Provide value")}

    builder = StateGraph(State).add_node("ask", ask).add_edge(START, "ask")
    return builder.compile(checkpointer=InMemorySaver(), **compile_kw)


def _config(thread: str, callbacks: Any) -> Any:
    return {"configurable": {"thread_id": thread}, "callbacks": callbacks}


async def test_interrupt_then_resume(anyio_backend: str) -> None:
    log: list[str] = []
    handler = Recorder(log)
    graph = _graph(log)
    config = _config("t", [Plain(), handler])

    first = await graph.ainvoke({"answer": None}, config)
    assert "__interrupt__" in first
    [stopped] = handler.events
    assert isinstance(stopped, GraphInterruptEvent)
    assert stopped.status == "pending"
    assert stopped.checkpoint_ns == ()
    assert [i.value for i in stopped.interrupts] == ["Provide value"]
    assert all(isinstance(i, Interrupt) for i in stopped.interrupts)
    state = await graph.aget_state(config)
    assert stopped.checkpoint_id == state.config["configurable"]["checkpoint_id"]

    log.clear()
    assert await graph.ainvoke(Command(resume="done"), config) == {"answer": "done"}
    resumed = handler.events[1]
    assert isinstance(resumed, GraphResumeEvent)
    assert (resumed.status, resumed.checkpoint_ns) == ("pending", ())
    assert resumed.checkpoint_id == stopped.checkpoint_id  # resumed from where it stopped
    assert resumed.run_id is not None
    assert log == ["on_resume", "ask"]  # before the first node runs
    assert len(handler.events) == 2  # the run ended: no interrupt event


async def test_async_handler_methods_are_awaited(anyio_backend: str) -> None:
    handler = AsyncRecorder()
    graph = _graph()
    config = _config("t", [handler])
    await graph.ainvoke({"answer": None}, config)
    await graph.ainvoke(Command(resume="done"), config)
    assert [type(e) for e in handler.events] == [GraphInterruptEvent, GraphResumeEvent]


async def test_static_interrupt_status_and_no_event_for_a_fresh_run(anyio_backend: str) -> None:
    handler = Recorder()
    graph = _graph(interrupt_before=["ask"])
    config = _config("t", [handler])
    await graph.ainvoke({"answer": None}, config)
    [event] = handler.events
    assert isinstance(event, GraphInterruptEvent)
    assert (event.status, event.interrupts) == ("interrupt_before", ())


async def test_handlers_in_a_langchain_manager(anyio_backend: str) -> None:
    handler = Recorder()
    manager = CallbackManager.configure(inheritable_callbacks=[Plain()])
    manager.add_handler(handler)
    await _graph().ainvoke({"answer": None}, _config("t", manager))
    assert [type(e) for e in handler.events] == [GraphInterruptEvent]


async def test_a_failing_handler_is_logged_and_the_others_still_hear(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    graph = _graph()
    config = _config("t", [Raising(raise_error=False), recorder])
    with caplog.at_level(logging.WARNING, logger="scopegraph"):
        assert "__interrupt__" in await graph.ainvoke({"answer": None}, config)
        assert await graph.ainvoke(Command(resume="done"), config) == {"answer": "done"}
    assert [type(e) for e in recorder.events] == [GraphInterruptEvent, GraphResumeEvent]
    messages = [r.getMessage() for r in caplog.records]
    assert any("Raising.on_interrupt" in m and "boom-interrupt" in m for m in messages)
    assert any("Raising.on_resume" in m and "boom-resume" in m for m in messages)


async def test_raise_error_handler_fails_the_run_after_the_checkpoint(anyio_backend: str) -> None:
    graph = _graph()
    config = _config("t", [Raising(raise_error=True)])
    with pytest.raises(ValueError, match="boom-interrupt"):
        await graph.ainvoke({"answer": None}, config)
    state = await graph.aget_state({"configurable": {"thread_id": "t"}})
    assert [i.value for i in state.interrupts] == ["Provide value"]  # stored first


def test_sync_invoke() -> None:
    handler = Recorder()
    graph = _graph()
    config = _config("t", [handler])
    graph.invoke({"answer": None}, config)
    assert graph.invoke(Command(resume="x"), config) == {"answer": "x"}
    assert [type(e) for e in handler.events] == [GraphInterruptEvent, GraphResumeEvent]


async def test_managers_for_a_config_call_only_graph_handlers(anyio_backend: str) -> None:
    sync_handler, async_handler = Recorder(), AsyncRecorder()
    config: Any = {"callbacks": [Plain(), sync_handler, async_handler, Raising(raise_error=False)]}
    event = GraphResumeEvent(None, "pending", "cp", ())

    manager = get_async_graph_callback_manager_for_config(config, run_id=None)
    assert manager.handlers[:2] == [sync_handler, async_handler]
    await manager.on_resume(event)
    assert sync_handler.events == [event]
    assert async_handler.events == [event]

    raising = get_async_graph_callback_manager_for_config(
        {"callbacks": [Raising(raise_error=True)]}
    )
    with pytest.raises(ValueError, match="boom-resume"):
        await raising.on_resume(event)


def test_sync_manager_runs_async_handlers_too() -> None:
    sync_handler, async_handler = Recorder(), AsyncRecorder()
    manager = get_sync_graph_callback_manager_for_config(
        {"callbacks": [sync_handler, async_handler]}
    )
    event = GraphInterruptEvent(None, "pending", "cp", (), ())
    manager.on_interrupt(event)
    assert sync_handler.events == [event]
    assert async_handler.events == [event]


async def test_sync_manager_inside_an_event_loop(anyio_backend: str) -> None:
    async_handler = AsyncRecorder()
    manager = get_sync_graph_callback_manager_for_config({"callbacks": [async_handler]})
    event = GraphResumeEvent(None, "pending", "cp", ())
    manager.on_resume(event)  # the handler's coroutine runs in a worker thread's loop
    assert async_handler.events == [event]


async def test_a_resumed_subgraph_reports_its_own_resume(anyio_backend: str) -> None:
    handler = Recorder()

    def ask(state: State) -> State:
        return {"answer": interrupt("q")}

    sub = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile()
    graph = (
        StateGraph(State)
        .add_node("sub", sub)
        .add_edge(START, "sub")
        .compile(checkpointer=InMemorySaver())
    )
    config = _config("t", [handler])
    await graph.ainvoke({"answer": None}, config)
    assert await graph.ainvoke(Command(resume="x"), config) == {"answer": "x"}
    stopped, root, inner = handler.events
    assert isinstance(stopped, GraphInterruptEvent)
    assert stopped.checkpoint_ns == ()  # interrupts: the root's only
    assert isinstance(root, GraphResumeEvent)
    assert isinstance(inner, GraphResumeEvent)
    assert root.checkpoint_ns == ()
    [path] = inner.checkpoint_ns
    assert path.startswith("sub:")
    assert inner.run_id != root.run_id
