"""``stream_mode="messages"``: the tokens of a chat model called inside a node, as
``(message_chunk, metadata)`` (LangGraph docs: "Streaming > LLM tokens"). Uses
LangChain's fake chat model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph

FEATURE = 'stream_mode="messages" (chat model tokens)'
ASYNCIO_ONLY = "langchain_core's async callback manager (used by chat models) calls asyncio.gather"


async def main() -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage("hello big world")] * 2))

    async def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("call_model", call_model)
    builder.add_edge(START, "call_model")
    builder.add_edge("call_model", END)
    graph = builder.compile()
    inputs: Any = {"messages": [("user", "hi")]}
    chunks: AsyncIterator[Any] = graph.astream(inputs, stream_mode="messages")
    tokens = [(type(chunk).__name__, chunk.content, metadata) async for chunk, metadata in chunks]
    mixed = [
        (mode, type(chunk).__name__)
        async for mode, chunk in graph.astream(inputs, stream_mode=["messages", "updates"])
    ]
    return {"tokens": tokens, "with_updates": mixed}
