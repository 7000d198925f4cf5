"""A LangChain agent, built with LangGraph's machinery, adopted: it runs on scopegraph."""

import anyio
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from scopegraph.langgraph import adopt


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class FakeModel(GenericFakeChatModel):  # a scripted chat model: no network
    def bind_tools(self, tools, **kwargs):  # type: ignore[no-untyped-def]
        return self


call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "call-1"}
model = FakeModel(messages=iter([AIMessage("", tool_calls=[call]), AIMessage("2 + 3 = 5")]))

agent = adopt(create_agent(model, [add]))  # the same nodes, edges and state, on scopegraph


async def main() -> None:
    async for update in agent.astream({"messages": [("user", "what is 2 + 3?")]}):
        for node, values in update.items():
            print(node, "->", values["messages"][-1].content)


anyio.run(main, backend="trio")  # LangGraph runs on asyncio only; adopted, trio works too
