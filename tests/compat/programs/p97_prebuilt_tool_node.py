"""LangGraph's prebuilt ``ToolNode`` and ``tools_condition`` in a ReAct loop: two tool
calls in one turn (run in parallel), a tool reading the state (``InjectedState``), a tool
returning a ``Command`` with its tool call id (``InjectedToolCallId``), then the final
answer (LangGraph docs: "Call tools"). The chat model is LangChain's fake; the agent node
is sync, so the program also runs on trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.graph import START, StateGraph, add_messages
from langgraph.prebuilt import InjectedState, ToolNode, tools_condition
from langgraph.types import Command

FEATURE = "prebuilt ToolNode + tools_condition: parallel tools, InjectedState, Command from a tool"


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    notes: Annotated[list[str], operator.add]


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


@tool
def count(state: Annotated[dict[str, Any], InjectedState]) -> int:
    """How many messages the conversation has."""
    return len(state["messages"])


@tool
def note(text: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
    """Keep a note in the state."""
    return Command(
        update={
            "notes": [text],
            "messages": [ToolMessage(f"noted {text}", tool_call_id=tool_call_id)],
        }
    )


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


async def main() -> Any:
    def build() -> Any:
        model = FakeMessagesListChatModel(
            responses=[
                AIMessage(
                    "",
                    id="ai-1",
                    tool_calls=[
                        call("multiply", "c1", a=6, b=7),
                        call("count", "c2"),
                        call("note", "c3", text="asked"),
                    ],
                ),
                AIMessage("42", id="ai-2"),
            ]
        )

        def agent(state: State) -> dict[str, Any]:
            return {"messages": [model.invoke(state["messages"])]}

        builder = StateGraph(State)
        builder.add_node("agent", agent)
        builder.add_node("tools", ToolNode([multiply, count, note]))
        builder.add_edge(START, "agent")
        builder.add_conditional_edges("agent", tools_condition)
        builder.add_edge("tools", "agent")
        return builder.compile()

    inputs: Any = {"messages": [HumanMessage("6 times 7?", id="h-1")], "notes": []}
    result = await build().ainvoke(inputs)
    updates = [chunk async for chunk in build().astream(inputs, stream_mode="updates")]

    def plain(message: Any) -> Any:
        return (type(message).__name__, message.content, getattr(message, "tool_call_id", None))

    def written(update: Any) -> Any:
        # ToolNode's update is a list when a tool returned a Command: one dict per write.
        parts = update if isinstance(update, list) else [update or {}]
        return [
            (key, plain(m))
            for part in parts
            for key in part
            for m in part[key]
            if key == "messages"
        ] + [(key, part[key]) for part in parts for key in part if key != "messages"]

    return {
        "messages": [plain(m) for m in result["messages"]],
        "notes": result["notes"],
        "updates": [{node: written(u) for node, u in c.items()} for c in updates],
    }
