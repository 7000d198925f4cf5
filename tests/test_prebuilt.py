"""LangGraph's prebuilt nodes inside scopegraph graphs, side by side with LangGraph.

``langgraph.prebuilt.ToolNode`` and ``tools_condition`` (and the tools they run, with
``InjectedState``, ``InjectedStore``, ``InjectedToolCallId`` and ``ToolRuntime``) are
used unchanged in a graph written once against ``lib`` (LangGraph's or scopegraph's
``StateGraph``); each test compares the normalized results and stream chunks. The chat
model is LangChain's fake (``FakeMessagesListChatModel`` for tool calls,
``GenericFakeChatModel`` for streamed tokens): no network.

LangChain's async code calls asyncio directly, so on trio the agent node (a function
of the test) is sync, and scopegraph runs the ``ToolNode`` on an asyncio loop in a worker
thread; the LangGraph reference always runs on asyncio (in a thread,
``langgraph_reference``).
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import anyio
import anyio.lowlevel
import pytest
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver as LGInMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import MessagesState as LGMessagesState
from langgraph.prebuilt import InjectedState, InjectedStore, ToolNode, ToolRuntime, tools_condition
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command as LGCommand
from langgraph.types import interrupt as lg_interrupt

from _compare import LG, SG, compare, langgraph_reference, normalize
from _helpers import no_task_left
from scopegraph.checkpoint.memory import InMemorySaver as SGInMemorySaver
from scopegraph.graph import MessagesState as SGMessagesState

pytestmark = pytest.mark.anyio


def plain(obj: Any) -> Any:
    """Messages as comparable data (the ids add_messages gives are random)."""
    if isinstance(obj, BaseMessage):
        dump = obj.model_dump()
        if dump.get("id") and not str(dump["id"]).startswith("ai-"):
            dump["id"] = "<random>"
        return (type(obj).__name__, dump)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(plain(v) for v in obj)
    if type(obj).__name__ == "Interrupt":
        return ("Interrupt", plain(obj.value))
    return obj


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def asks(*calls: dict[str, Any], reply_id: str = "ai-1") -> AIMessage:
    return AIMessage("", id=reply_id, tool_calls=list(calls))


class Script:
    """The chat model's turns: each call of the agent node takes the next model."""

    def __init__(self, turns: list[AIMessage | str]) -> None:
        self.models: list[Any] = []
        for i, turn in enumerate(turns):
            if isinstance(turn, str):  # a streamed answer: tokens in "messages" mode
                message = AIMessage(turn, id=f"ai-final-{i}")
                self.models.append(GenericFakeChatModel(messages=iter([message])))
            else:
                self.models.append(FakeMessagesListChatModel(responses=[turn]))
        self.calls = 0

    def next(self) -> Any:
        model = self.models[self.calls]
        self.calls += 1
        return model


def agent_node(script: Script, sync: bool) -> Callable[..., Any]:
    if sync:

        def agent(state: Any) -> dict[str, Any]:
            return {"messages": [script.next().invoke(state["messages"])]}

        return agent

    async def agent_async(state: Any) -> dict[str, Any]:
        return {"messages": [await script.next().ainvoke(state["messages"])]}

    return agent_async


def messages_state(lib: Any) -> Any:
    return LGMessagesState if lib is LG else SGMessagesState


def agent_graph(
    lib: Any,
    tools: list[Any],
    turns: list[AIMessage | str],
    *,
    sync: bool,
    state: Any = None,
    tool_node: Any = None,
    **compile_kwargs: Any,
) -> Any:
    """agent -> (tools_condition) -> tools -> agent, LangGraph's ReAct loop."""
    builder = lib.StateGraph(state or messages_state(lib))
    builder.add_node("agent", agent_node(Script(turns), sync))
    builder.add_node("tools", tool_node or ToolNode(tools))
    builder.add_edge(lib.START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(**compile_kwargs)


def is_sync(backend: str) -> bool:
    return backend == "trio"


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


INPUT = {"messages": [HumanMessage("compute", id="h-0")]}
TWO_CALLS: list[AIMessage | str] = [
    asks(call("add", "c1", a=1, b=2), call("multiply", "c2", a=3, b=4)),
    "the answers",
]


async def test_tool_agent_results_and_stream_chunks_match_langgraph(anyio_backend: str) -> None:
    """Two tool calls in one turn (run in parallel by ToolNode), then a final answer:
    the result and the updates/values chunks are LangGraph's."""

    def build(lib: Any) -> Any:
        return agent_graph(lib, [add, multiply], TWO_CALLS, sync=is_sync(anyio_backend))

    async def scenario(lib: Any, graph: Any) -> Any:
        result = await graph.ainvoke(INPUT)
        chunks = [c async for c in build(lib).astream(INPUT, stream_mode=["updates", "values"])]
        return plain({"result": result, "chunks": chunks})

    expected, actual = await compare(build, scenario)
    assert actual == expected
    contents = [m[1]["content"] for m in actual["result"]["messages"]]
    assert contents == ["compute", "", "3", "12", "the answers"]


async def test_messages_mode_streams_tokens_and_tool_messages(anyio_backend: str) -> None:
    def build(lib: Any) -> Any:
        return agent_graph(lib, [add, multiply], TWO_CALLS, sync=is_sync(anyio_backend))

    async def scenario(lib: Any, graph: Any) -> Any:
        return plain([c async for c in graph.astream(INPUT, stream_mode="messages")])

    expected, actual = await compare(build, scenario)
    assert actual == expected
    pieces = [(chunk[0][0], chunk[0][1]["content"], chunk[1]["langgraph_node"]) for chunk in actual]
    assert ("ToolMessage", "3", "tools") in pieces
    assert ("AIMessageChunk", "answers", "agent") in pieces


async def test_astream_events_include_the_tool_runs(anyio_backend: str) -> None:
    def build(lib: Any) -> Any:
        return agent_graph(lib, [add, multiply], TWO_CALLS, sync=is_sync(anyio_backend))

    async def scenario(lib: Any, graph: Any) -> Any:
        events = [e async for e in graph.astream_events(INPUT, version="v2")]
        # Parallel tools interleave their events in either order: compare per run.
        tool_events = sorted(
            (e["name"], e["event"], plain(e["data"].get("output")))
            for e in events
            if e["event"].startswith("on_tool")
        )
        outline = [
            (e["event"], e["name"])
            for e in events
            if e["event"] in ("on_chain_start", "on_chain_end") and e["name"] != "LangGraph"
        ]
        return {"tools": tool_events, "outline": outline}

    expected, actual = await compare(build, scenario)
    assert actual == expected
    names = {name for name, _, _ in actual["tools"]}
    assert names == {"add", "multiply"}


class Extra(TypedDict):
    messages: Annotated[list[BaseMessage], operator.add]
    user: str
    notes: Annotated[list[str], operator.add]


@tool
def whoami(state: Annotated[dict[str, Any], InjectedState]) -> str:
    """Who asks, from the graph state."""
    return f"{state['user']} after {len(state['messages'])} messages"


@tool
def user_field(user: Annotated[str, InjectedState("user")]) -> str:
    """One field of the graph state."""
    return user.upper()


@tool
def recall(key: str, store: Annotated[Any, InjectedStore()]) -> str:
    """Read the store."""
    item = store.get(("memories",), key)
    return "nothing" if item is None else str(item.value["text"])


@tool
def note(text: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
    """Update the state with a Command naming its tool call."""
    return LGCommand(
        update={
            "notes": [text],
            "messages": [ToolMessage(f"noted {text}", tool_call_id=tool_call_id)],
        }
    )


@tool
def inspect_runtime(runtime: ToolRuntime[Any, Any]) -> str:
    """Everything a ToolRuntime carries."""
    runtime.stream_writer({"progress": runtime.tool_call_id})
    stored = runtime.store.get(("memories",), "color") if runtime.store else None
    return (
        f"id={runtime.tool_call_id} user={runtime.state['user']} "
        f"context={runtime.context} stored={stored.value if stored else None} "
        f"ns={runtime.config['configurable']['checkpoint_ns'].split(':')[0]}"
    )


async def test_injected_state_store_tool_call_id_and_tool_runtime(anyio_backend: str) -> None:
    turns: list[AIMessage | str] = [
        asks(
            call("whoami", "c1"),
            call("user_field", "c2"),
            call("recall", "c3", key="color"),
            call("note", "c4", text="n1"),
            call("inspect_runtime", "c5"),
        ),
        "done",
    ]

    def build(lib: Any) -> Any:
        store = InMemoryStore()
        store.put(("memories",), "color", {"text": "blue"})
        tools = [whoami, user_field, recall, note, inspect_runtime]
        return agent_graph(lib, tools, turns, sync=is_sync(anyio_backend), state=Extra, store=store)

    async def scenario(lib: Any, graph: Any) -> Any:
        given = {"messages": [HumanMessage("hi", id="h-0")], "user": "ada", "notes": []}
        chunks = [
            c
            async for c in graph.astream(
                given, stream_mode=["updates", "custom"], context={"tenant": "t1"}
            )
        ]
        return plain(chunks)

    expected, actual = await compare(build, scenario)
    assert actual == expected
    tool_update = next(c[1]["tools"] for c in actual if c[0] == "updates" and "tools" in c[1])
    contents = [m[1]["content"] for u in tool_update for m in u.get("messages", [])]
    assert "ada after 2 messages" in contents
    assert "ADA" in contents
    assert "blue" in contents
    assert "noted n1" in contents
    assert "id=c5 user=ada context={'tenant': 't1'} stored={'text': 'blue'} ns=tools" in contents
    assert ("custom", {"progress": "c5"}) in actual


async def test_injected_store_without_a_store_is_a_clear_error(anyio_backend: str) -> None:
    turns: list[AIMessage | str] = [asks(call("recall", "c1", key="color")), "done"]

    def build(lib: Any) -> Any:
        return agent_graph(lib, [recall], turns, sync=is_sync(anyio_backend))

    async def scenario(lib: Any, graph: Any) -> Any:
        try:
            await graph.ainvoke(INPUT)
        except ValueError as exc:
            return ("error", str(exc).splitlines()[0])
        return "no error"

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert "compile your graph with a store" in actual[1]


@tool
def hand_over(tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
    """Leave the agent subgraph for the parent's reviewer node."""
    return LGCommand(
        graph=LGCommand.PARENT,
        goto="reviewer",
        update={"messages": [ToolMessage("handing over", tool_call_id=tool_call_id)]},
    )


@tool
def jump(tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
    """Go straight to the reviewer node."""
    return LGCommand(
        goto="reviewer",
        update={"messages": [ToolMessage("jumping", tool_call_id=tool_call_id)]},
    )


async def test_command_with_goto_from_a_tool(anyio_backend: str) -> None:
    turns: list[AIMessage | str] = [asks(call("jump", "c1")), "unused"]

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(messages_state(lib))
        builder.add_node("agent", agent_node(Script(turns), is_sync(anyio_backend)))
        builder.add_node("tools", ToolNode([jump]))
        builder.add_node("reviewer", lambda state: {"messages": [AIMessage("ok", id="ai-r")]})
        builder.add_edge(lib.START, "agent")
        builder.add_conditional_edges("agent", tools_condition)
        builder.add_edge("reviewer", lib.END)
        return builder.compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        return plain([c async for c in graph.astream(INPUT, stream_mode="updates")])

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert [next(iter(c)) for c in actual] == ["agent", "tools", "reviewer"]


async def test_command_to_the_parent_graph_from_a_tool(anyio_backend: str) -> None:
    """Command(graph=Command.PARENT) from a tool of an agent subgraph goes to a node of
    the parent graph, with its update."""
    turns: list[AIMessage | str] = [asks(call("hand_over", "c1")), "unused"]

    def build(lib: Any) -> Any:
        agent = agent_graph(lib, [hand_over], turns, sync=is_sync(anyio_backend))
        parent = lib.StateGraph(messages_state(lib))
        parent.add_node("agent", agent)
        parent.add_node("reviewer", lambda state: {"messages": [AIMessage("seen", id="ai-r")]})
        parent.add_edge(lib.START, "agent")
        parent.add_edge("reviewer", lib.END)
        return parent.compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        result = await graph.ainvoke(INPUT)
        return plain([m.content for m in result["messages"]])

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == ["compute", "handing over", "seen"]


@tool
def fails(x: int) -> int:
    """Always fails."""
    raise RuntimeError(f"tool broke on {x}")


async def test_tool_errors_are_handled_as_toolnode_does(anyio_backend: str) -> None:
    """An unknown tool and bad arguments become error ToolMessages (the model can fix
    them); with handle_tool_errors=True, a failing tool too; by default a failing tool
    fails the run with its own error."""
    turns: list[AIMessage | str] = [
        asks(call("nope", "c1"), call("add", "c2", a="x", b=1), call("fails", "c3", x=1)),
        "done",
    ]

    def build_handled(lib: Any) -> Any:
        node = ToolNode([add, fails], handle_tool_errors=True)
        return agent_graph(lib, [], turns, sync=is_sync(anyio_backend), tool_node=node)

    def build_default(lib: Any) -> Any:
        return agent_graph(lib, [add, fails], turns, sync=is_sync(anyio_backend))

    async def scenario(lib: Any, graph: Any) -> Any:
        try:
            result = await graph.ainvoke(INPUT)
        except RuntimeError as exc:
            return ("error", type(exc).__name__, str(exc))
        return [
            (m.content.splitlines()[0], m.status) for m in result["messages"] if m.type == "tool"
        ]

    expected, actual = await compare(build_handled, scenario)
    assert actual == expected
    assert [status for _, status in actual] == ["error", "error", "error"]
    assert "tool broke on 1" in actual[2][0]

    expected, actual = await compare(build_default, scenario)
    assert actual == expected
    assert actual == ("error", "RuntimeError", "tool broke on 1")


async def test_tool_calls_sent_one_by_one(anyio_backend: str) -> None:
    """The Send-based mode (as create_agent routes): each tool call goes to the ToolNode
    in a Send of its own, and the ToolNode reads the state from the graph."""

    def route(state: Any) -> Any:
        last = state["messages"][-1]
        if not getattr(last, "tool_calls", None):
            return "__end__"
        from langgraph.types import Send

        return [Send("tools", [tool_call]) for tool_call in last.tool_calls]

    @tool
    def count(state: Annotated[dict[str, Any], InjectedState]) -> int:
        """How many messages the state has."""
        return len(state["messages"])

    turns: list[AIMessage | str] = [
        asks(call("add", "c1", a=1, b=2), call("count", "c2"), call("add", "c3", a=5, b=5)),
        "done",
    ]

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(messages_state(lib))
        builder.add_node("agent", agent_node(Script(turns), is_sync(anyio_backend)))
        builder.add_node("tools", ToolNode([add, count]))
        builder.add_edge(lib.START, "agent")
        builder.add_conditional_edges("agent", route, ["tools", lib.END])
        builder.add_edge("tools", "agent")
        return builder.compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        result = await graph.ainvoke(INPUT)
        return sorted(m.content for m in result["messages"] if m.type == "tool")

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == ["10", "2", "3"]


@tool
def delete_file(path: str) -> str:
    """Delete a file, once a human said yes (LangGraph's interrupt, as LangChain's
    human-in-the-loop middleware calls it)."""
    answer = lg_interrupt({"action": "delete", "path": path})
    return f"deleted {path}" if answer == "yes" else f"kept {path}"


async def test_langgraphs_interrupt_in_a_tool_pauses_and_resumes(anyio_backend: str) -> None:
    turns: list[AIMessage | str] = [asks(call("delete_file", "c1", path="/tmp/x")), "done"]

    def build(lib: Any) -> Any:
        saver = LGInMemorySaver() if lib is LG else SGInMemorySaver()
        return agent_graph(
            lib, [delete_file], turns, sync=is_sync(anyio_backend), checkpointer=saver
        )

    async def scenario(lib: Any, graph: Any) -> Any:
        config = {"configurable": {"thread_id": "t"}}
        first = await graph.ainvoke(INPUT, config)
        paused = (await graph.aget_state(config)).next
        second = await graph.ainvoke(lib.Command(resume="yes"), config)
        return plain(
            {
                "asked": first["__interrupt__"],
                "paused_at": paused,
                "tools": [m.content for m in second["messages"] if m.type == "tool"],
                "last": second["messages"][-1].content,
            }
        )

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual["tools"] == ["deleted /tmp/x"]
    assert actual["paused_at"] == ("tools",)


async def test_interrupt_in_a_tool_without_a_checkpointer(anyio_backend: str) -> None:
    turns: list[AIMessage | str] = [asks(call("delete_file", "c1", path="/tmp/x")), "done"]

    graph = agent_graph(SG, [delete_file], turns, sync=is_sync(anyio_backend))
    from scopegraph import ContextError

    with pytest.raises(ContextError, match="needs a checkpointer"):
        await graph.ainvoke(INPUT)


async def test_scopegraph_store_is_the_runtime_store_of_every_node(anyio_backend: str) -> None:
    """compile(store=...) reaches function nodes as runtime.store, subgraphs' nodes too,
    and LangGraph's get_store() in a node."""
    from langgraph.config import get_store

    import scopegraph
    from scopegraph.runtime import Runtime

    store = InMemoryStore()
    seen: list[Any] = []

    def inner(state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        seen.append(runtime.store)
        seen.append(get_store())
        return {}

    child = scopegraph.StateGraph(SGMessagesState)
    child.add_node("inner", inner)
    child.add_edge(scopegraph.START, "inner")
    parent = scopegraph.StateGraph(SGMessagesState)
    parent.add_node("child", child.compile())
    parent.add_edge(scopegraph.START, "child")
    await parent.compile(store=store).ainvoke(INPUT)
    assert seen == [store, store]


async def test_cancelling_mid_tool_completes_its_shielded_cleanup(anyio_backend: str) -> None:
    """The run is cancelled while two async tools run in parallel; each tool's shielded
    cleanup completes, in order, before the caller sees the cancellation, and no task is
    left. On trio the ToolNode runs on an asyncio loop in a worker thread, cancelled
    once. On LangGraph the same run loses the cleanup."""

    def make(lib: Any, sync: bool) -> tuple[Any, list[str]]:
        log: list[str] = []

        async def slow(name: str) -> str:
            try:
                log.append(f"{name} start")
                get_stream_writer()({"running": name})  # the test cancels after two
                await anyio.sleep_forever()
            finally:
                with anyio.CancelScope(shield=True):
                    log.append(f"{name} cleanup begins")
                    for _ in range(5):
                        await anyio.lowlevel.checkpoint()
                    await anyio.sleep(0.01)
                    log.append(f"{name} cleanup done")
            return name

        @tool
        async def first() -> str:
            """First slow tool."""
            return await slow("first")

        @tool
        async def second() -> str:
            """Second slow tool."""
            return await slow("second")

        turns: list[AIMessage | str] = [asks(call("first", "c1"), call("second", "c2")), "no"]
        return agent_graph(lib, [first, second], turns, sync=sync), log

    async def cancel_mid_tool(lib: Any, sync: bool) -> list[str]:
        graph, log = make(lib, sync)
        running = 0
        with anyio.CancelScope() as scope:
            async with contextlib.aclosing(graph.astream(INPUT, stream_mode="custom")) as chunks:
                async for _ in chunks:
                    running += 1
                    if running == 2:
                        scope.cancel()
        log.append("caller sees the cancellation")
        return log

    def cleaned_up_first(log: list[str]) -> bool:
        """Both tools' cleanups completed before the caller saw the cancellation."""
        seen = log.index("caller sees the cancellation")
        return all(
            f"{name} cleanup done" in log[:seen]
            and log.index(f"{name} cleanup begins") < log.index(f"{name} cleanup done")
            for name in ("first", "second")
        )

    with no_task_left():
        log = await cancel_mid_tool(SG, is_sync(anyio_backend))
    assert cleaned_up_first(log), log
    assert log[-1] == "caller sees the cancellation"

    lg_log = await langgraph_reference(lambda: cancel_mid_tool(LG, False))
    assert not cleaned_up_first(lg_log), lg_log


class FakeToolModel(FakeMessagesListChatModel):
    """LangChain's fake chat model, which create_agent can bind tools to."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def langchain_agent(middleware: Any = (), **kwargs: Any) -> Any:
    from langchain.agents import create_agent

    model = FakeToolModel(
        responses=[
            asks(call("add", "c1", a=1, b=2), call("multiply", "c2", a=3, b=4)),
            AIMessage("the answers", id="ai-2"),
        ]
    )
    return create_agent(model, [add, multiply], middleware=list(middleware), **kwargs)


def from_agent_nodes(agent: Any, **compile_kwargs: Any) -> Any:
    """A scopegraph graph made by hand from the nodes and edges create_agent built (its
    model node, ToolNode, middleware nodes and RunnableCallable edges), unchanged."""
    import scopegraph

    built = agent.builder
    builder = scopegraph.StateGraph(
        built.state_schema, input_schema=built.input_schema, output_schema=built.output_schema
    )
    for name, spec in built.nodes.items():
        builder.add_node(name, spec.runnable)
    for source, target in built.edges:
        builder.add_edge(source, target)
    for source, branches in built.branches.items():
        for branch in branches.values():
            builder.add_conditional_edges(source, branch.path, branch.ends)
    return builder.compile(**compile_kwargs)


async def test_create_agent_nodes_run_in_a_scopegraph_graph(anyio_backend: str) -> None:
    """create_agent's model node, its ToolNode (one Send per tool call) and its edges
    give LangGraph's result and updates chunks."""

    def comparable(result: Any, chunks: list[Any]) -> Any:
        # The two tool calls are two tasks: their chunks come in the order they finish.
        return {
            "result": normalize(plain(result)),
            "nodes": [next(iter(c)) for c in chunks],
            "chunks": sorted(repr(normalize(plain(c))) for c in chunks),
        }

    async def on_langgraph() -> Any:
        agent = langchain_agent()
        result = await agent.ainvoke(INPUT)
        chunks = [c async for c in langchain_agent().astream(INPUT, stream_mode="updates")]
        return comparable(result, chunks)

    expected = await langgraph_reference(on_langgraph)
    graph = from_agent_nodes(langchain_agent())
    result = await graph.ainvoke(INPUT)
    graph = from_agent_nodes(langchain_agent())
    chunks = [c async for c in graph.astream(INPUT, stream_mode="updates")]
    actual = comparable(result, chunks)
    assert actual == expected
    contents = [m[1]["content"] for m in actual["result"]["messages"]]
    assert contents == ["compute", "", "3", "12", "the answers"]


async def test_create_agent_human_in_the_loop_middleware(anyio_backend: str) -> None:
    """LangChain's HumanInTheLoopMiddleware (LangGraph's interrupt in a middleware node)
    pauses before the tools and resumes with scopegraph's Command(resume=...)."""
    from langchain.agents.middleware import HumanInTheLoopMiddleware

    def middleware() -> list[Any]:
        return [HumanInTheLoopMiddleware(interrupt_on={"add": True, "multiply": False})]

    answer = {"decisions": [{"type": "approve"}]}

    async def on_langgraph() -> Any:
        agent = langchain_agent(middleware(), checkpointer=LGInMemorySaver())
        config = {"configurable": {"thread_id": "t"}}
        first = await agent.ainvoke(INPUT, config)
        second = await agent.ainvoke(LGCommand(resume=answer), config)
        return plain({"asked": first["__interrupt__"], "messages": second["messages"]})

    expected = normalize(await langgraph_reference(on_langgraph))
    graph = from_agent_nodes(langchain_agent(middleware()), checkpointer=SGInMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    first = await graph.ainvoke(INPUT, config)
    assert (await graph.aget_state(config)).next == ("HumanInTheLoopMiddleware.after_model",)
    second = await graph.ainvoke(SG.Command(resume=answer), config)
    actual = normalize(plain({"asked": first["__interrupt__"], "messages": second["messages"]}))
    assert actual == expected
    assert [m[1]["content"] for m in actual["messages"]][-3:] == ["3", "12", "the answers"]


async def test_validation_node(anyio_backend: str) -> None:
    """ValidationNode checks the tool calls' arguments against their schemas."""
    import warnings

    from pydantic import BaseModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import ValidationNode

    class Point(BaseModel):
        x: int
        y: int

    turns: list[AIMessage | str] = [
        asks(call("Point", "c1", x=1, y=2), call("Point", "c2", x="no", y=2)),
    ]

    def build(lib: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            validate = ValidationNode([Point])
        builder = lib.StateGraph(messages_state(lib))
        builder.add_node("agent", agent_node(Script(turns), is_sync(anyio_backend)))
        builder.add_node("validate", validate)
        builder.add_edge(lib.START, "agent")
        builder.add_edge("agent", "validate")
        builder.add_edge("validate", lib.END)
        return builder.compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        result = await graph.ainvoke(INPUT)
        return [
            (m.tool_call_id, m.content.splitlines()[0], bool(m.additional_kwargs.get("is_error")))
            for m in result["messages"]
            if m.type == "tool"
        ]

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert [(c, err) for c, _, err in actual] == [("c1", False), ("c2", True)]


async def test_toolnode_called_in_a_subgraph_reads_that_subgraphs_state(
    anyio_backend: str,
) -> None:
    """A ToolNode invoked from a node of a subgraph (run by a Send) reads the
    subgraph's state, not the parent's (the parent node's LangGraph keys are not
    inherited)."""
    seen: list[Any] = []

    @tool
    def record(runtime: ToolRuntime[Any, Any]) -> str:
        """Record the state the tool gets."""
        seen.append(runtime.state)
        return "ok"

    class Value(TypedDict):
        value: str

    def call_tools(state: Value) -> dict[str, Any]:
        ToolNode([record]).invoke([call("record", "c1")])
        return {}

    def build(lib: Any) -> Any:
        inner = lib.StateGraph(Value)
        inner.add_node("call_tools", call_tools)
        inner.add_edge(lib.START, "call_tools")
        outer = lib.StateGraph(Value)
        outer.add_node("inner", inner.compile())
        outer.add_conditional_edges(
            lib.START, lambda _: [lib.Send("inner", {"value": "inner"})], ["inner"]
        )
        return outer.compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        seen.clear()
        await graph.ainvoke({"value": "outer"})
        return list(seen)

    expected, actual = await compare(build, scenario)
    assert actual == expected == [{"value": "inner"}]


async def test_langgraphs_interrupt_rejects_an_invalid_answer_and_keeps_waiting(
    anyio_backend: str,
) -> None:
    """LangGraph's interrupt(response_schema=...) in a tool: an answer that does not
    validate fails the run with pydantic's error and the interrupt keeps waiting for
    another answer, as on LangGraph."""
    from pydantic import BaseModel, ValidationError

    class Approval(BaseModel):
        approved: bool

    @tool
    def ask_human() -> str:
        """Ask a human for approval."""
        answer = lg_interrupt("Approve?", response_schema=Approval)
        return f"approved={answer.approved}"

    def build(lib: Any) -> Any:
        saver = LGInMemorySaver() if lib is LG else SGInMemorySaver()
        builder = lib.StateGraph(messages_state(lib))
        builder.add_node("tools", ToolNode([ask_human]))
        builder.add_edge(lib.START, "tools")
        return builder.compile(checkpointer=saver)

    async def scenario(lib: Any, graph: Any) -> Any:
        config = {"configurable": {"thread_id": "t"}}
        first = await graph.ainvoke({"messages": [asks(call("ask_human", "c1"))]}, config)
        [pending] = first["__interrupt__"]
        try:
            await graph.ainvoke(lib.Command(resume={pending.id: {"approved": "maybe"}}), config)
            rejected = "no error"
        except ValidationError as exc:
            rejected = type(exc).__name__
        waiting = [i.id == pending.id for i in (await graph.aget_state(config)).interrupts]
        done = await graph.ainvoke(lib.Command(resume={pending.id: {"approved": True}}), config)
        return {"rejected": rejected, "waiting": waiting, "last": done["messages"][-1].content}

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == {"rejected": "ValidationError", "waiting": [True], "last": "approved=True"}


async def test_langgraphs_runtime_helpers_in_a_function_node(anyio_backend: str) -> None:
    """langgraph.config.get_stream_writer() / get_store() and langgraph.runtime
    .get_runtime() called in a node (as LangChain's middleware do) reach the run."""
    from langgraph.config import get_store, get_stream_writer
    from langgraph.runtime import get_runtime

    class Plain(TypedDict):
        x: int

    def node(state: Plain) -> dict[str, Any]:
        runtime = get_runtime()
        get_stream_writer()({"context": runtime.context, "has_store": get_store() is not None})
        return {"x": state["x"] + 1}

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(Plain)
        builder.add_node("node", node)
        builder.add_edge(lib.START, "node")
        return builder.compile(store=InMemoryStore())

    async def scenario(lib: Any, graph: Any) -> Any:
        given = {"x": 1}
        return [
            c
            async for c in graph.astream(
                given, stream_mode=["custom", "values"], context={"user": "ada"}
            )
        ]

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert ("custom", {"context": {"user": "ada"}, "has_store": True}) in actual


async def test_invalid_answer_to_an_interrupt_in_a_subgraph_a_tool_ran(
    anyio_backend: str,
) -> None:
    """A tool runs a graph (a subagent) whose interrupt(response_schema=...) gets an
    answer that does not validate: the run fails with pydantic's error and the interrupt
    keeps waiting in the parent graph, as on LangGraph."""
    from pydantic import BaseModel, ValidationError

    class Approval(BaseModel):
        approved: bool

    class Asked(TypedDict, total=False):
        answer: str

    def build(lib: Any) -> Any:
        def ask(state: Asked) -> dict[str, Any]:
            answer = lib.interrupt("Approve?", response_schema=Approval)
            return {"answer": f"approved={answer.approved}"}

        asker = lib.StateGraph(Asked)
        asker.add_node("ask", ask)
        asker.add_edge(lib.START, "ask")
        subagent = asker.compile()

        @tool
        async def ask_human() -> str:
            """Ask a human for approval, through a subagent."""
            return str((await subagent.ainvoke({}))["answer"])

        @tool("ask_human")
        def ask_human_sync() -> str:
            """Ask a human for approval, through a subagent."""
            return str(subagent.invoke({})["answer"])

        saver = LGInMemorySaver() if lib is LG else SGInMemorySaver()
        builder = lib.StateGraph(messages_state(lib))
        # On trio the ToolNode runs on an asyncio loop in a thread, where a scopegraph
        # graph awaited by an async tool is a run of its own: the tool is sync there (its
        # invoke then runs the subagent in the parent run's loop, as a subgraph).
        tool_ = ask_human_sync if is_sync(anyio_backend) else ask_human
        builder.add_node("tools", ToolNode([tool_]))
        builder.add_edge(lib.START, "tools")
        return builder.compile(checkpointer=saver)

    async def scenario(lib: Any, graph: Any) -> Any:
        config = {"configurable": {"thread_id": "t"}}
        first = await graph.ainvoke({"messages": [asks(call("ask_human", "c1"))]}, config)
        [pending] = first["__interrupt__"]
        try:
            await graph.ainvoke(lib.Command(resume={pending.id: {"approved": "maybe"}}), config)
            rejected = "no error"
        except ValidationError as exc:
            rejected = type(exc).__name__
        waiting = [i.id == pending.id for i in (await graph.aget_state(config)).interrupts]
        done = await graph.ainvoke(lib.Command(resume={pending.id: {"approved": True}}), config)
        return {"rejected": rejected, "waiting": waiting, "last": done["messages"][-1].content}

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == {"rejected": "ValidationError", "waiting": [True], "last": "approved=True"}


async def test_injected_store_with_scopegraphs_store(anyio_backend: str) -> None:
    """A tool with InjectedStore gets scopegraph's own store (scopegraph.store), given
    with compile(store=...)."""
    from scopegraph.store.memory import InMemoryStore as SGInMemoryStore

    store = SGInMemoryStore()
    await store.aput(("memories",), "color", {"text": "green"})
    turns: list[AIMessage | str] = [asks(call("recall", "c1", key="color")), "done"]
    graph = agent_graph(SG, [recall], turns, sync=is_sync(anyio_backend), store=store)
    result = await graph.ainvoke(INPUT)
    assert [m.content for m in result["messages"] if m.type == "tool"] == ["green"]
