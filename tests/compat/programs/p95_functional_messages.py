"""The Functional API's ``messages`` stream: a chat model called inside a ``@task``
streams its tokens with the task's metadata (LangGraph docs: "Functional API >
Streaming > LLM tokens")."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.func import entrypoint, task

FEATURE = "Functional API: chat model tokens from a task in stream_mode='messages'"
ASYNCIO_ONLY = "langchain_core's async callback manager (used by chat models) calls asyncio.gather"


async def main() -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there friend")]))

    @task
    async def call_model(text: str) -> str:
        message = await model.ainvoke(text)
        return str(message.content)

    @entrypoint()
    async def workflow(text: str) -> str:
        return await call_model(text)

    tokens = []
    item: Any
    async for item in workflow.astream("hi", stream_mode="messages"):
        chunk, meta = item
        node, triggers, step = (
            meta[k] for k in ("langgraph_node", "langgraph_triggers", "langgraph_step")
        )
        tokens.append((chunk.content, node, triggers, step))
    return {"tokens": tokens}
