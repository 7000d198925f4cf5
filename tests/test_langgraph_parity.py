"""Small results that match LangGraph's: stream metadata."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import HumanMessage

from scopegraph import START, StateGraph
from scopegraph.graph.message import MessagesState

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
