"""``push_message()`` (``scopegraph.graph.message``, LangGraph's): a node sends a message
to the ``messages`` stream at once and, with a ``state_key``, writes it to the state
when it returns (before its own writes). Sync nodes (worker threads) and async nodes,
on asyncio and trio."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from scopegraph import ContextError
from scopegraph.graph import START, StateGraph
from scopegraph.graph.message import add_messages, push_message
from scopegraph.types import RetryPolicy

pytestmark = pytest.mark.anyio


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _graph(node: Any) -> Any:
    return StateGraph(State).add_node("chat", node).add_edge(START, "chat").compile()


async def _run(graph: Any) -> tuple[list[Any], list[Any], Any]:
    streamed: list[Any] = []
    updates: list[Any] = []
    values = None
    async for mode, chunk in graph.astream(
        {"messages": [HumanMessage("hi", id="h")]}, stream_mode=["messages", "updates", "values"]
    ):
        if mode == "messages":
            streamed.append(chunk)
        elif mode == "updates":
            updates.append(chunk)
        else:
            values = chunk
    return streamed, updates, values


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-node", "async-node"])
async def test_pushed_messages_stream_at_once_and_are_written_first(
    anyio_backend: str, is_async: bool
) -> None:
    def body() -> dict[str, Any]:
        with pytest.raises(ValueError, match="Message ID is required"):
            push_message(AIMessage("no id"))
        first = push_message(AIMessage("First", id="1"))
        assert isinstance(first, AIMessage)
        converted = push_message({"role": "user", "content": "Second", "id": "2"})
        assert isinstance(converted, HumanMessage)
        return {"messages": [AIMessage("Returned", id="3")]}

    async def anode(state: State) -> dict[str, Any]:
        return body()

    def node(state: State) -> dict[str, Any]:
        return body()

    streamed, updates, values = await _run(_graph(anode if is_async else node))

    # each pushed message once, then the returned one (not streamed twice)
    assert [(m.content, md["langgraph_node"]) for m, md in streamed] == [
        ("First", "chat"),
        ("Second", "chat"),
        ("Returned", "chat"),
    ]
    assert [m.content for m in values["messages"]] == ["hi", "First", "Second", "Returned"]
    [update] = updates
    assert [list(u) for u in update["chat"]] == [["messages"]] * 3  # three writes


async def test_state_key_none_only_streams(anyio_backend: str) -> None:
    async def node(state: State) -> None:
        push_message(AIMessage("shown", id="1"), state_key=None)

    streamed, updates, values = await _run(_graph(node))
    assert [m.content for m, _ in streamed] == ["shown"]
    assert [m.content for m in values["messages"]] == ["hi"]
    assert updates == [{"chat": None}]


async def test_pushed_write_without_the_messages_mode(anyio_backend: str) -> None:
    async def node(state: State) -> None:
        push_message(AIMessage("kept", id="1"))

    result = await _graph(node).ainvoke({"messages": []})
    assert [m.content for m in result["messages"]] == ["kept"]


async def test_a_failing_node_writes_nothing(anyio_backend: str) -> None:
    async def node(state: State) -> None:
        push_message(AIMessage("lost", id="1"))
        raise RuntimeError("node failed")

    graph = _graph(node)
    with pytest.raises(RuntimeError, match="node failed"):
        await graph.ainvoke({"messages": []})


def test_outside_a_node() -> None:
    with pytest.raises(ContextError, match="push_message"):
        push_message(AIMessage("x", id="1"))


async def test_a_retried_node_keeps_only_its_last_attempts_pushes(anyio_backend: str) -> None:
    attempts: list[int] = []

    async def node(state: State) -> None:
        attempts.append(len(attempts) + 1)
        push_message(AIMessage(f"attempt {len(attempts)}", id=f"a{len(attempts)}"))
        if len(attempts) == 1:
            raise ValueError("first attempt fails")

    graph = (
        StateGraph(State)
        .add_node(
            "chat",
            node,
            retry_policy=RetryPolicy(initial_interval=0.0, jitter=False, retry_on=ValueError),
        )
        .add_edge(START, "chat")
        .compile()
    )
    result = await graph.ainvoke({"messages": []})
    assert attempts == [1, 2]
    assert [m.content for m in result["messages"]] == ["attempt 2"]
