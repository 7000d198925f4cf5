"""``MessagesState`` extended with a key of its own, a chatbot-like node without a model,
and conversation memory across two turns on one thread (LangGraph docs: "Add memory")."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

FEATURE = "MessagesState subclass + memory across turns (InMemorySaver thread)"


class State(MessagesState):
    turns: int


async def chatbot(state: State) -> dict[str, Any]:
    last = state["messages"][-1]
    reply = AIMessage(f"echo #{len(state['messages'])}: {last.content}", id=f"ai-{last.id}")
    return {"messages": [reply], "turns": state.get("turns", 0) + 1}


def brief(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "messages": [(m.type, m.content, m.id) for m in state["messages"]],
        "turns": state.get("turns"),
    }


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    builder.add_edge("chatbot", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "chat"}}
    # Message-like inputs (tuples, dicts) are converted by add_messages.
    turn_1: Any = {"messages": [("user", "hi, I am Bob")]}
    turn_2: Any = {"messages": [{"role": "user", "content": "what is my name?", "id": "u2"}]}
    other: Any = {"messages": [("user", "hello")]}
    first = await graph.ainvoke(turn_1, config)
    second = await graph.ainvoke(turn_2, config)
    other_thread = await graph.ainvoke(other, {"configurable": {"thread_id": "other"}})
    snapshot = await graph.aget_state(config)
    return {
        "first": brief(first),
        "second": brief(second),
        "other_thread": brief(other_thread),
        "snapshot": brief(snapshot.values),
        "message_classes": [type(m).__name__ for m in second["messages"]],
    }
