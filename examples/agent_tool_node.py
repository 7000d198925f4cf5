"""LangGraph's prebuilt ToolNode and tools_condition in a scopegraph graph (docs/agents.md).
The chat model is LangChain's fake, which asks for two tools, then answers; the tools
get the store and the state injected. Runs on asyncio and on trio."""

from typing import Annotated, Any

import anyio
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.store.memory import InMemoryStore

from scopegraph import START, StateGraph
from scopegraph.graph import MessagesState
from scopegraph.prebuilt import InjectedState, InjectedStore, ToolNode, tools_condition

model = FakeMessagesListChatModel(
    responses=[
        AIMessage(
            "",
            tool_calls=[
                {"name": "multiply", "args": {"a": 6, "b": 7}, "id": "c1"},
                {"name": "recall", "args": {"key": "unit"}, "id": "c2"},
            ],
        ),
        AIMessage("6 x 7 = 42 apples"),
    ]
)


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


@tool
def recall(
    key: str,
    store: Annotated[Any, InjectedStore()],
    state: Annotated[dict[str, Any], InjectedState],
) -> str:
    """Look a memory up (the model never sees the store or the state)."""
    item = store.get(("memories",), key)
    return f"{item.value['text']} (after {len(state['messages'])} messages)"


def agent(state: MessagesState) -> dict[str, Any]:
    return {"messages": [model.invoke(state["messages"])]}


store = InMemoryStore()
store.put(("memories",), "unit", {"text": "apples"})

builder = StateGraph(MessagesState)
builder.add_node("agent", agent)
builder.add_node("tools", ToolNode([multiply, recall]))
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", tools_condition)
builder.add_edge("tools", "agent")
graph = builder.compile(store=store)


async def main() -> None:
    result = await graph.ainvoke({"messages": [("user", "What is 6 times 7, in my unit?")]})
    for message in result["messages"]:
        calls = ", ".join(call["name"] for call in getattr(message, "tool_calls", []))
        print(f"{message.type}: {message.content or 'calls ' + calls}")


if __name__ == "__main__":
    anyio.run(main)  # or anyio.run(main, backend="trio")
