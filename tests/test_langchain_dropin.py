"""LangChain objects inside nodes: the same streams as LangGraph, side by side.

A node's config carries a LangChain callback manager whose parent run is the node, so
langchain_core's ``adispatch_custom_event``, chat models (``GenericFakeChatModel``: no
network) and tools report to scopegraph's streams. Each test runs one scenario on
LangGraph and on scopegraph (written once, against ``lib``) and compares the normalized
results.

LangChain's async callback machinery is asyncio-only (``ahandle_event`` calls
``asyncio.gather`` even with no handler to gather), so a chat model's ``ainvoke`` fails on
trio with or without scopegraph. The async scenarios therefore run on asyncio; the last
test shows that synchronous LangChain calls in sync nodes (which run in worker threads)
work on trio too.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.callbacks.manager import adispatch_custom_event, dispatch_custom_event
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import MessagesState as LGMessagesState

from _compare import LG, SG, compare, langgraph_reference, normalize
from scopegraph.graph import MessagesState as SGMessagesState

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def plain(obj: Any) -> Any:
    """Messages as comparable data (their ids given by add_messages are random)."""
    if isinstance(obj, BaseMessage):
        dump = obj.model_dump()
        if dump.get("id") and not str(dump["id"]).startswith(("ai-", "h-")):
            dump["id"] = "<random>"
        return (type(obj).__name__, dump)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(plain(v) for v in obj)
    return obj


def messages_state(lib: Any) -> Any:
    return LGMessagesState if lib is LG else SGMessagesState


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def model(reply: str, message_id: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=reply, id=message_id)]))


def chat_graph(lib: Any) -> Any:
    """plain (returns messages) -> chat (streams one model, invokes another, calls a tool)."""

    async def plain_node(state: Any) -> dict[str, Any]:
        return {"messages": [AIMessage("plain reply", id="ai-0"), HumanMessage("h", id="h-1")]}

    async def chat(state: Any, config: RunnableConfig) -> dict[str, Any]:
        chunks = [
            c async for c in model("hello big world", "ai-1").astream(state["messages"], config)
        ]
        total = chunks[0]
        for chunk in chunks[1:]:
            total = total + chunk
        second = await model("second", "ai-2").ainvoke(state["messages"], config)
        total_tool = await add.ainvoke({"a": 1, "b": 2}, config)
        return {"messages": [total, second, AIMessage(str(total_tool), id="ai-3")]}

    graph = lib.StateGraph(messages_state(lib))
    graph.add_node("plain", plain_node)
    graph.add_node("chat", chat)
    graph.add_edge(lib.START, "plain")
    graph.add_edge("plain", "chat")
    graph.add_edge("chat", lib.END)
    return graph.compile()


INPUT = {"messages": [("user", "hi")]}


async def test_messages_stream_mode(anyio_backend: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        return plain([c async for c in graph.astream(INPUT, stream_mode="messages")])

    expected, actual = await compare(chat_graph, scenario)
    assert actual == expected
    tokens = [chunk[0][1]["content"] for chunk in actual]
    assert tokens == ["plain reply", "h", "hello", " ", "big", " ", "world", "second", "3"]


async def test_messages_with_other_modes_and_subgraphs(anyio_backend: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        return plain(
            [
                c
                async for c in graph.astream(
                    INPUT, stream_mode=["messages", "updates"], subgraphs=True
                )
            ]
        )

    expected, actual = await compare(chat_graph, scenario)
    assert actual == expected


async def test_astream_events_with_chat_models_and_tools(anyio_backend: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        return plain([e async for e in graph.astream_events(INPUT, version="v2")])

    expected, actual = await compare(chat_graph, scenario)
    assert actual == expected
    kinds = [e["event"] for e in actual]
    for kind in (
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_end",
        "on_tool_start",
        "on_tool_end",
    ):
        assert kind in kinds


def custom_event_graph(lib: Any) -> Any:
    class State(TypedDict):
        log: Annotated[list[str], operator.add]

    async def emit(state: State, config: RunnableConfig) -> dict[str, Any]:
        await adispatch_custom_event("progress", {"at": 1}, config=config)
        await adispatch_custom_event("progress", {"at": 2})  # config from the context
        return {"log": ["emit"]}

    def emit_sync(state: State, config: RunnableConfig) -> dict[str, Any]:
        dispatch_custom_event("sync-progress", {"at": 3}, config=config)
        return {"log": ["emit_sync"]}

    async def chained(state: State) -> dict[str, Any]:
        # A runnable called without passing config inherits the node's (LangGraph does
        # this with a context variable; so does scopegraph when LangChain is loaded).
        double: RunnableLambda[int, int] = RunnableLambda(lambda x: x * 2)
        doubled = await double.ainvoke(21)
        return {"log": [f"chained {doubled}"]}

    graph = lib.StateGraph(State)
    graph.add_node("emit", emit)
    graph.add_node("emit_sync", emit_sync)
    graph.add_node("chained", chained)
    graph.add_edge(lib.START, "emit")
    graph.add_edge("emit", "emit_sync")
    graph.add_edge("emit_sync", "chained")
    graph.add_edge("chained", lib.END)
    return graph.compile()


async def test_langchain_custom_events_and_nested_runnables(anyio_backend: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        events = [e async for e in graph.astream_events({"log": []}, version="v2")]
        custom = [c async for c in graph.astream({"log": []}, stream_mode="custom")]
        return events, custom

    expected, actual = await compare(custom_event_graph, scenario)
    assert actual == expected
    events, custom = actual
    assert [(e["name"], e["data"]) for e in events if e["event"] == "on_custom_event"] == [
        ("progress", {"at": 1}),
        ("progress", {"at": 2}),
        ("sync-progress", {"at": 3}),
    ]
    # As in LangGraph, LangChain custom events are events, not custom-stream chunks.
    assert custom == []
    assert any(e["event"] == "on_chain_start" and e["name"] == "RunnableLambda" for e in events)


async def test_no_langchain_callbacks_without_langchain_objects(anyio_backend: str) -> None:
    """The final state is the same whatever the callbacks did (a plain run)."""

    async def scenario(lib: Any, graph: Any) -> Any:
        return plain(await graph.ainvoke(INPUT))

    expected, actual = await compare(chat_graph, scenario)
    assert actual == expected


async def test_langgraph_reference_runs() -> None:
    """The reference side itself runs (guards against comparing two empty results)."""

    async def scenario() -> Any:
        graph = chat_graph(LG)
        return [c async for c in graph.astream(INPUT, stream_mode="messages")]

    chunks = await langgraph_reference(scenario)
    assert len(normalize(plain(chunks))) == 9
    assert SG is not LG


def sync_graph(lib: Any) -> Any:
    """A sync node that invokes a chat model and dispatches a custom event."""

    def chat(state: Any, config: RunnableConfig) -> dict[str, Any]:
        dispatch_custom_event("sync-event", {"n": 1}, config=config)
        reply = model("sync reply", "ai-9").invoke(state["messages"], config)
        return {"messages": [reply]}

    graph = lib.StateGraph(messages_state(lib))
    graph.add_node("chat", chat)
    graph.add_edge(lib.START, "chat")
    graph.add_edge("chat", lib.END)
    return graph.compile()


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_sync_langchain_calls_on_both_backends(anyio_backend: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        messages = [c async for c in graph.astream(INPUT, stream_mode="messages")]
        events = [e async for e in graph.astream_events(INPUT, version="v2")]
        return plain(messages), plain(events)

    expected, actual = await compare(sync_graph, scenario)
    assert actual == expected
    messages, events = actual
    assert [m[0][1]["content"] for m in messages] == ["sync", " ", "reply"]
    assert "on_custom_event" in [e["event"] for e in events]
