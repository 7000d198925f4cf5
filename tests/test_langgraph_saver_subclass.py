"""A saver subclass written for LangGraph's API: ``aput(self, config, checkpoint,
metadata, new_versions)`` overridden, ``super().aput(...)`` called. A run calls it
LangGraph's way (the arguments in LangGraph's shapes) and the base ``aput`` stores what
the run handed over; a run cancelled with ``durability="exit"`` still stores its
checkpoint through it, shielded, before the cancellation goes on. asyncio and trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.graph import START, StateGraph
from scopegraph.types import Command, interrupt

pytestmark = pytest.mark.anyio


class State(TypedDict):
    hello: str


class LangGraphStyleSaver(InMemorySaver):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []
        self.log: list[str] = []

    async def aput(  # type: ignore[override]
        self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> Any:
        self.log.append("aput.start")
        try:
            await anyio.lowlevel.checkpoint()  # a cancellation point, were it not shielded
            self.calls.append((config, dict(checkpoint), metadata, new_versions))
            return await super().aput(config, checkpoint, metadata, new_versions)
        finally:
            self.log.append("aput.end")


async def test_a_run_calls_a_langgraph_style_aput_and_the_state_is_stored(
    anyio_backend: str,
) -> None:
    async def node(state: State) -> State:
        return {"hello": state["hello"] + "!"}

    saver = LangGraphStyleSaver()
    graph = StateGraph(State).add_node("n", node).add_edge(START, "n").compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    assert await graph.ainvoke({"hello": "hi"}, config) == {"hello": "hi!"}

    state = await graph.aget_state(config)
    assert state.values == {"hello": "hi!"}
    put_config, document, metadata, versions = saver.calls[-1]
    assert document["id"] == state.config["configurable"]["checkpoint_id"]
    assert document["channel_values"] == {"hello": "hi!"}
    assert put_config["configurable"]["thread_id"] == "t"
    assert put_config["configurable"]["checkpoint_id"] == saver.calls[-2][1]["id"]  # parent
    assert state.metadata is not None
    assert metadata["step"] == state.metadata["step"]
    assert versions == {}


async def test_a_cancelled_exit_durability_run_still_stores_its_checkpoint(
    anyio_backend: str,
) -> None:
    started = anyio.Event()
    cleanup: list[str] = []

    async def node(state: State) -> State:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cleanup.append("node.end")
        return state  # pragma: no cover

    saver = LangGraphStyleSaver()
    graph = StateGraph(State).add_node("n", node).add_edge(START, "n").compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    async with anyio.create_task_group() as tg:

        async def run() -> None:
            await graph.ainvoke({"hello": "hi"}, config, durability="exit")

        tg.start_soon(run)
        await started.wait()
        assert saver.log == []  # durability="exit": nothing stored while it runs
        tg.cancel_scope.cancel()

    assert cleanup == ["node.end"]
    assert saver.log == ["aput.start", "aput.end"]  # after the node's cleanup, completed
    state = await graph.aget_state(config)
    assert state.values == {"hello": "hi"}
    assert state.next == ("n",)


async def test_the_langgraph_form_stores_only_a_runs_checkpoint(anyio_backend: str) -> None:
    with pytest.raises(TypeError, match="stores only the checkpoints a scopegraph run hands"):
        await InMemorySaver().aput({"configurable": {"thread_id": "t"}}, {"id": "x"}, {}, {})


async def test_aput_replaced_on_the_class_after_a_run_is_called_langgraph_s_way(
    anyio_backend: str,
) -> None:
    class Saver(InMemorySaver):
        pass

    async def node(state: State) -> State:
        return state

    saver = Saver()
    graph = StateGraph(State).add_node("n", node).add_edge(START, "n").compile(checkpointer=saver)
    await graph.ainvoke({"hello": "a"}, {"configurable": {"thread_id": "1"}})  # scopegraph's way
    seen: list[str] = []
    original = InMemorySaver.aput

    async def tracked(self: Any, config: Any, checkpoint: Any, metadata: Any, versions: Any) -> Any:
        seen.append(checkpoint["id"])
        return await original(self, config, checkpoint, metadata, versions)

    Saver.aput = tracked  # type: ignore[method-assign,assignment]
    await graph.ainvoke({"hello": "b"}, {"configurable": {"thread_id": "2"}})
    state = await graph.aget_state({"configurable": {"thread_id": "2"}})
    assert seen[-1] == state.config["configurable"]["checkpoint_id"]


async def test_pending_writes_are_not_kept(anyio_backend: str) -> None:
    saver = InMemorySaver()
    with pytest.raises(NotImplementedError, match=r"no pending writes.*aput_task"):
        await saver.aput_writes({"configurable": {"thread_id": "t"}}, [("k", 1)], "task")
    with pytest.raises(NotImplementedError, match="no pending writes"):
        saver.put_writes({"configurable": {"thread_id": "t"}}, [("k", 1)], "task")


async def test_an_exit_resume_retried_after_its_final_checkpoint_failed_reruns_the_task(
    anyio_backend: str,
) -> None:
    """LangGraph's test_exit_resume_retried_after_its_final_checkpoint_fails_... with the
    failure in ``aput`` (its own overrides the sync ``put``, which scopegraph's runs never
    call): the failed resume raises the saver's error, stores nothing, and a retry resumes
    the same checkpoint, rerunning the interrupted task once."""

    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    class FailingSaver(LangGraphStyleSaver):
        fail = False

        async def aput(  # type: ignore[override]
            self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
        ) -> Any:
            if self.fail:
                raise RuntimeError("final checkpoint lost")
            return await super().aput(config, checkpoint, metadata, new_versions)

    def ask(state: Log) -> Log:
        interrupt("approve?")
        return {"log": ["ask"]}

    saver = FailingSaver()
    builder = StateGraph(Log).add_node("done", lambda state: {"log": ["done"]})
    builder.add_node("ask", ask).add_edge(START, "done").add_edge(START, "ask")
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": ["in"]}, config, durability="exit")
    paused = (await graph.aget_state(config)).config
    saver.fail = True
    with pytest.raises(RuntimeError, match="final checkpoint lost"):
        await graph.ainvoke(Command(resume="yes"), config, durability="exit")
    saver.fail = False
    assert (await graph.aget_state(config)).config == paused

    await graph.ainvoke(Command(resume="yes"), config, durability="exit")

    assert sorted((await graph.aget_state(config)).values["log"]) == ["ask", "done", "in"]
