"""A chat graph with a LangChain chat model (a fake one: no network), for the run server.

``scopegraph serve --graph chat=examples/chat_graph.py:graph``; stream it with
``stream_mode="messages-tuple"`` to get the model's tokens. Needs langchain_core
(``pip install 'scopegraph[langchain]'``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

from scopegraph.graph import END, START, MessagesState, StateGraph


async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    last = state["messages"][-1].content if state["messages"] else ""
    model = GenericFakeChatModel(messages=iter([AIMessage(f"you said: {last}", id="reply")]))
    return {"messages": [await model.ainvoke(state["messages"], config)]}


builder = StateGraph(MessagesState)
builder.add_node("chat", chat)
builder.add_edge(START, "chat")
builder.add_edge("chat", END)
graph = builder.compile()
