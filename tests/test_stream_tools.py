"""``stream_mode="tools"``: LangGraph 1.2's tool-call events, and one handler per node.

Each LangChain tool call inside a node streams ``tool-started`` (its ``tool_call_id``,
``tool_name``, ``input``), a ``tool-output-delta`` per ``ToolRuntime.emit_output_delta``,
then ``tool-finished`` (its ``output``) or ``tool-error`` (the message); a tool stopped by
``interrupt()`` is paused, not failed, and reports nothing more. Chunks carry the
namespace of the graph the tool runs in.

Also here: a node of a subgraph used to get the LangChain handler of the parent's node
besides its own, so every token (``messages``), tool event and ``astream_events`` event
of a runnable inside a subgraph came twice, once under the parent's namespace; and a
message without an id a node returned was streamed again when the subgraph's node
returned it (LangGraph gives it an id when it streams it).
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from typing_extensions import TypedDict

from scopegraph import END, START, StateGraph
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.func import task
from scopegraph.graph.message import add_messages
from scopegraph.prebuilt import ToolNode, ToolRuntime
from scopegraph.types import Command, interrupt

pytestmark = pytest.mark.anyio


ASYNCIO_ONLY = pytest.mark.parametrize("anyio_backend", ["asyncio"])
"""LangChain's async callback manager and ``ToolNode`` gather with asyncio (they fail on
trio with or without scopegraph)."""


class State(TypedDict):
    messages: Annotated[list[Any], add_messages]


def _call(name: str, args: dict[str, Any], call_id: str = "tc1") -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return f"echoed:{text}"


@tool
def boom() -> str:
    """Fail."""
    raise ValueError("nope")


@tool
def ask() -> str:
    """Ask the user."""
    answer: str = interrupt("ok?")
    return answer


def _one_call_graph(call: dict[str, Any], checkpointer: Any = None) -> Any:
    """A sync node that runs one tool call (``tool.invoke(tool_call)``, in its worker
    thread: LangChain's async callbacks need asyncio, its sync ones run on trio too)."""
    tools = {t.name: t for t in (echo, boom, ask)}

    def run_tool(state: State) -> dict[str, Any]:
        return {"messages": [tools[call["name"]].invoke(call)]}

    builder = StateGraph(State).add_node("run_tool", run_tool).add_edge(START, "run_tool")
    return builder.compile(checkpointer=checkpointer)


async def _tool_events(graph: Any, inp: Any, config: Any = None, **kw: Any) -> list[Any]:
    return [
        (ns, payload)
        async for ns, mode, payload in graph.astream(
            inp, config, stream_mode=["tools", "values"], subgraphs=True, **kw
        )
        if mode == "tools"
    ]


async def test_a_tool_call_streams_started_then_finished() -> None:
    events = await _tool_events(_one_call_graph(_call("echo", {"text": "hi"})), {"messages": []})
    assert [ns for ns, _ in events] == [(), ()]
    started, finished = (payload for _, payload in events)
    assert started == {
        "event": "tool-started",
        "tool_call_id": "tc1",
        "tool_name": "echo",
        "input": {"text": "hi"},
    }
    assert finished["event"] == "tool-finished"
    assert finished["tool_call_id"] == "tc1"
    assert isinstance(finished["output"], ToolMessage)
    assert finished["output"].content == "echoed:hi"


async def test_a_failing_tool_streams_its_error() -> None:
    events: list[Any] = []

    async def consume() -> None:
        graph = _one_call_graph(_call("boom", {}))
        async for _mode, payload in graph.astream({"messages": []}, stream_mode=["tools"]):
            events.append(payload)

    with pytest.raises(ValueError, match="nope"):
        await consume()
    assert events[-1] == {"event": "tool-error", "tool_call_id": "tc1", "message": "nope"}
    assert [e["event"] for e in events] == ["tool-started", "tool-error"]


async def test_an_interrupted_tool_is_paused_not_failed() -> None:
    graph = _one_call_graph(_call("ask", {}), InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    paused = await _tool_events(graph, {"messages": []}, config)
    resumed = await _tool_events(graph, Command(resume="yes"), config)
    assert [p["event"] for _, p in paused] == ["tool-started"]
    assert [(p["event"], p["tool_call_id"]) for _, p in resumed] == [
        ("tool-started", "tc1"),
        ("tool-finished", "tc1"),
    ]
    assert resumed[-1][1]["output"].content == "yes"


@ASYNCIO_ONLY
async def test_a_sync_tool_awaited_in_an_async_node_streams_from_asyncios_executor() -> None:
    """``sync_tool.ainvoke`` runs the whole call, callbacks included, in asyncio's
    executor: the node's handler is made there and still reaches the event loop."""

    async def node(state: State) -> dict[str, Any]:
        return {"messages": [await echo.ainvoke(_call("echo", {"text": "x"}))]}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    events = await _tool_events(graph, {"messages": []})
    assert [p["event"] for _, p in events] == ["tool-started", "tool-finished"]
    kinds = [
        e["event"]
        async for e in graph.astream_events({"messages": []}, version="v2")
        if e["name"] == "echo"
    ]
    assert kinds == ["on_tool_start", "on_tool_end"]


async def test_no_tool_events_without_the_mode() -> None:
    graph = _one_call_graph(_call("echo", {"text": "hi"}))
    chunks = [c async for c in graph.astream({"messages": []}, stream_mode=["values", "custom"])]
    assert all(mode != "tools" for mode, _ in chunks)
    assert chunks[-1][1]["messages"][-1].content == "echoed:hi"


async def test_an_unknown_mode_is_still_refused() -> None:
    graph = _one_call_graph(_call("echo", {}))
    with pytest.raises(ValueError, match=r"unknown stream_mode 'tool'.*'tools'"):
        await graph.ainvoke({}, stream_mode="tool")


def _caller(*calls: dict[str, Any]) -> Any:
    async def caller(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage(content="", tool_calls=list(calls))]}

    return caller


def _tool_node_graph(caller: Any, tools: list[Any]) -> Any:
    return (
        StateGraph(State)
        .add_node("caller", caller)
        .add_node("tools", ToolNode(tools))
        .add_edge(START, "caller")
        .add_edge("caller", "tools")
        .add_edge("tools", END)
        .compile()
    )


@ASYNCIO_ONLY
async def test_emit_output_delta_of_parallel_calls_stays_with_each_call() -> None:
    @tool
    async def streamer(marker: str, runtime: ToolRuntime) -> str:
        """Emit the marker twice."""
        runtime.emit_output_delta(f"{marker}-1")
        runtime.emit_output_delta(f"{marker}-2")
        return marker

    caller = _caller(
        _call("streamer", {"marker": "A"}, "a"), _call("streamer", {"marker": "B"}, "b")
    )
    events = await _tool_events(_tool_node_graph(caller, [streamer]), {"messages": []})
    by_call: dict[str, list[str]] = {}
    for _, p in events:
        by_call.setdefault(p["tool_call_id"], []).append(p["event"])
        if p["event"] == "tool-output-delta":
            by_call[p["tool_call_id"]][-1] = p["delta"]
    assert by_call == {
        "a": ["tool-started", "A-1", "A-2", "tool-finished"],
        "b": ["tool-started", "B-1", "B-2", "tool-finished"],
    }


def test_sync_tool_node_streams_from_its_worker_threads() -> None:
    @tool
    def sync_streamer(text: str, runtime: ToolRuntime) -> str:
        """Emit the text, return it."""
        runtime.emit_output_delta(text)
        return text

    def caller(state: State) -> dict[str, Any]:
        return {
            "messages": [AIMessage(content="", tool_calls=[_call("sync_streamer", {"text": "x"})])]
        }

    graph = _tool_node_graph(caller, [sync_streamer])
    events = [p for mode, p in graph.stream({"messages": []}, stream_mode=["tools"])]
    assert [p["event"] for p in events] == ["tool-started", "tool-output-delta", "tool-finished"]
    assert events[1]["delta"] == "x"


def _nested(inner: Any) -> Any:
    return StateGraph(State).add_node("sub", inner).add_edge(START, "sub").compile()


async def test_a_tool_in_a_subgraph_streams_once_under_its_namespace() -> None:
    inner = _one_call_graph(_call("echo", {"text": "x"}))
    events = await _tool_events(_nested(inner), {"messages": []})
    assert [p["event"] for _, p in events] == ["tool-started", "tool-finished"]
    assert all(len(ns) == 1 and ns[0].startswith("sub:") for ns, _ in events)
    # Without subgraphs=True a subgraph's tool events are not streamed (LangGraph).
    chunks = [c async for c in _nested(inner).astream({"messages": []}, stream_mode=["tools"])]
    assert chunks == []


@ASYNCIO_ONLY
async def test_tokens_and_events_of_a_model_in_a_subgraph_come_once() -> None:
    def model_graph() -> Any:
        model = GenericFakeChatModel(messages=iter([AIMessage(content="hello world")]))

        async def call_model(state: State) -> dict[str, Any]:
            return {"messages": [await model.ainvoke("hi")]}

        return StateGraph(State).add_node("m", call_model).add_edge(START, "m").compile()

    tokens = [
        (ns, message.content)
        async for ns, (message, _) in _nested(model_graph()).astream(
            {"messages": []}, stream_mode="messages", subgraphs=True
        )
    ]
    assert [content for _, content in tokens] == ["hello", " ", "world"]
    assert all(ns[0].startswith("sub:") for ns, _ in tokens)
    events = [
        e["event"]
        async for e in _nested(model_graph()).astream_events({"messages": []}, version="v2")
        if e["event"].startswith("on_chat_model")
    ]
    assert events == ["on_chat_model_start"] + ["on_chat_model_stream"] * 3 + ["on_chat_model_end"]


@ASYNCIO_ONLY
async def test_tokens_of_a_subgraph_a_node_function_invokes_come_once() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello world")]))

    async def call_model(state: State) -> dict[str, Any]:
        return {"messages": [await model.ainvoke("hi")]}

    inner = StateGraph(State).add_node("m", call_model).add_edge(START, "m").compile()

    async def parent(state: State) -> dict[str, Any]:
        return {"messages": (await inner.ainvoke({"messages": []}))["messages"]}

    graph = StateGraph(State).add_node("p", parent).add_edge(START, "p").compile()
    tokens = [
        (ns, message.content)
        async for ns, (message, _) in graph.astream(
            {"messages": []}, stream_mode="messages", subgraphs=True
        )
    ]
    assert [content for _, content in tokens] == ["hello", " ", "world"]
    assert all(len(ns) == 1 and ns[0].startswith("p:") for ns, _ in tokens)


async def test_a_message_without_id_is_streamed_once_through_a_subgraph() -> None:
    async def reply(state: State) -> dict[str, Any]:
        return {"messages": [ToolMessage(content="x", tool_call_id="tc1")]}

    inner = StateGraph(State).add_node("reply", reply).add_edge(START, "reply").compile()
    chunks = [
        (ns, message)
        async for ns, (message, _) in _nested(inner).astream(
            {"messages": []}, stream_mode="messages", subgraphs=True
        )
    ]
    assert len(chunks) == 1
    (ns, message) = chunks[0]
    assert ns[0].startswith("sub:")
    assert message.id is not None


async def test_a_task_in_a_subgraph_node_under_the_tools_mode() -> None:
    class Out(TypedDict):
        out: int | None

    @task
    async def double(x: int) -> int:
        return x * 2

    async def node(state: Out) -> Out:
        return {"out": await double(21)}

    inner = StateGraph(Out).add_node("node", node).add_edge(START, "node").compile()
    graph = StateGraph(Out).add_node("inner", inner).add_edge(START, "inner").compile()
    chunks = [c async for c in graph.astream({"out": None}, stream_mode=["values", "tools"])]
    assert chunks == [("values", {"out": None}), ("values", {"out": 42})]
