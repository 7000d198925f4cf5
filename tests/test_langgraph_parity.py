"""Small results that match LangGraph's: stream metadata, resume commands."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pydantic
import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AnyMessage, HumanMessage

from scopegraph import START, Command, StateGraph, interrupt
from scopegraph.checkpoint import InMemorySaver
from scopegraph.graph.message import MessagesState, add_messages

pytestmark = pytest.mark.anyio


async def test_messages_metadata_has_configurable_ids_and_the_models_own_tags() -> None:
    model = GenericFakeChatModel(messages=iter(["foo"]), tags=["meow"])

    def call_model(state: MessagesState) -> dict[str, Any]:
        # sync: langchain_core's async callbacks need asyncio, this test runs on trio too
        return {"messages": model.invoke(state["messages"])}

    async def echo(state: MessagesState) -> dict[str, Any]:
        return {"messages": HumanMessage("echo")}

    graph = StateGraph(MessagesState)
    graph.add_node("call_model", call_model)
    graph.add_node("echo", echo)
    graph.add_edge(START, "call_model")
    graph.add_edge("call_model", "echo")
    config: Any = {
        "configurable": {"thread_id": "th", "checkpoint_id": "c1", "graph_id": "g", "key": "s"}
    }
    chunks = [
        c async for c in graph.compile().astream({"messages": "hi"}, config, stream_mode="messages")
    ]
    [(_, model_md), (_, echo_md)] = chunks
    assert model_md["tags"] == ["meow"]
    assert "tags" not in echo_md
    for md in (model_md, echo_md):
        assert (md["thread_id"], md["checkpoint_id"], md["graph_id"]) == ("th", "c1", "g")
        assert "key" not in md


class Keyed(TypedDict):
    my_key: Annotated[str, operator.add]


async def test_a_resume_commands_update_is_kept_when_the_node_interrupts_again() -> None:
    async def node(state: Keyed) -> dict[str, Any]:
        first = interrupt("first")
        second = interrupt("second")
        return {"my_key": f"{first} {second}"}

    builder = StateGraph(Keyed)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"my_key": "DE"}, config)
    again = await graph.ainvoke(Command(resume="a1", update={"my_key": " upd "}), config)
    assert again["my_key"] == "DE upd "
    assert (await graph.aget_state(config)).values == {"my_key": "DE upd "}
    chunks = [c async for c in graph.astream(Command(resume="a2"), config, stream_mode="values")]
    assert chunks == [{"my_key": "DE upd "}, {"my_key": "DE upd a1 a2"}]


async def test_savers_take_langgraphs_config_call_shape() -> None:
    saver = InMemorySaver()

    async def node(state: Keyed) -> dict[str, Any]:
        return {"my_key": "!"}

    builder = StateGraph(Keyed)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"my_key": "a"}, config)
    newest = saver.get_tuple(config)
    assert newest is not None
    assert newest.metadata["step"] == 1
    history = [c async for c in saver.alist(config)]  # LangGraph's shape
    assert [c.metadata["step"] for c in history] == [1, 0, -1]
    assert [c.checkpoint["id"] for c in saver.list(config, before=history[0].config)] == [
        c.checkpoint["id"] for c in history[1:]
    ]
    assert [c.checkpoint["id"] for c in saver.list(history[1].config)] == [
        history[1].checkpoint["id"]
    ]
    # update_state(config, None) copies the checkpoint, as LangGraph does
    copied = await graph.aupdate_state(config, None)
    assert (await graph.aget_state(copied)).values == {"my_key": "a!"}
    saver.delete_thread("t")
    assert await saver.aget_tuple(config) is None


async def test_a_command_resumes_a_static_breakpoint_with_its_goto_in_the_same_step() -> None:
    async def node1(state: Keyed) -> dict[str, Any]:
        return {"my_key": "|1"}

    async def node2(state: Keyed) -> dict[str, Any]:
        return {"my_key": "|2"}

    builder = StateGraph(Keyed)
    builder.add_node("node1", node1)
    builder.add_node("node2", node2)
    builder.add_edge(START, "node1")
    builder.add_edge("node1", "node2")
    graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["node1"])
    config: Any = {"configurable": {"thread_id": "goto"}}
    await graph.ainvoke({"my_key": "abc"}, config)
    # goto adds node2 to node1's step; node1's edge runs node2 once more after.
    assert await graph.ainvoke(Command(goto=["node2"]), config) == {"my_key": "abc|1|2|2"}
    config = {"configurable": {"thread_id": "resume"}}
    await graph.ainvoke({"my_key": "abc"}, config)
    # No interrupt waits: LangGraph goes on and ignores the value.
    assert await graph.ainvoke(Command(resume="ignored"), config) == {"my_key": "abc|1|2"}


async def test_messages_a_node_got_in_its_pydantic_state_are_not_streamed_again() -> None:
    class Chat(pydantic.BaseModel):
        messages: Annotated[list[AnyMessage], add_messages]

    async def echo(state: Chat) -> dict[str, Any]:
        return {"messages": [*state.messages, HumanMessage("new", id="new")]}

    graph = StateGraph(Chat)
    graph.add_node("echo", echo)
    graph.add_edge(START, "echo")
    chunks = [
        c
        async for c in graph.compile().astream(
            {"messages": [HumanMessage("old", id="old")]}, stream_mode="messages"
        )
    ]
    assert [m.id for m, _ in chunks] == ["new"]
