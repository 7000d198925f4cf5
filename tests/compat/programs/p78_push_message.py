"""``push_message()``: a node sends messages to the ``messages`` stream as it goes, and
they are written to the state (before what the node returns)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.message import push_message

FEATURE = "push_message(): messages streamed from inside a node and written to the state"


async def main() -> Any:
    async def chat(state: MessagesState) -> dict[str, Any]:
        push_message(AIMessage("thinking...", id="m1"))
        push_message(AIMessage("only streamed", id="m2"), state_key=None)
        return {"messages": [AIMessage("answer", id="m3")]}

    graph = StateGraph(MessagesState).add_node("chat", chat).add_edge(START, "chat").compile()
    question: Any = {"messages": [("user", "hi")]}
    chunks: list[Any] = []
    async for mode, chunk in graph.astream(question, stream_mode=["messages", "updates"]):
        part: Any = chunk
        chunks.append((mode, part[0].content if mode == "messages" else part))
    final = await graph.ainvoke(question)
    return {"chunks": chunks, "final": [m.content for m in final["messages"]]}
