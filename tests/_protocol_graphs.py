"""Graphs for the thread-centric streaming protocol's tests
(``tests/test_server_thread_stream_v3.py``), served by ``scopegraph serve``.

- ``chat``: ``think`` writes a custom event, then ``chat`` streams a fake chat model's
  reply token by token (the reply: ``"you said: <the last message>"``).
- ``approve``: ``draft``, then ``review`` asks with ``interrupt()``, then ``publish``
  stores the answer.
- ``slow``: ``start`` writes a custom event, then ``wait`` takes 2 s.
- ``weather``: ``call`` returns an AI message calling the ``weather`` tool, which
  ``tools`` (LangGraph's ``ToolNode``) runs.
- ``nested``: ``prepare``, then ``inner`` (a subgraph: ``work`` writes a custom event),
  then ``finish``.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from scopegraph import END, START, StateGraph, get_stream_writer, interrupt
from scopegraph.graph import MessagesState
from scopegraph.prebuilt import ToolNode


async def think(state: MessagesState) -> dict[str, Any]:
    get_stream_writer()({"thinking": len(state["messages"])})
    return {}


async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    last = state["messages"][-1].content if state["messages"] else ""
    reply = AIMessage(f"you said: {last}", id="reply-1")
    model = GenericFakeChatModel(messages=iter([reply]))
    return {"messages": [await model.ainvoke(state["messages"], config)]}


_chat = StateGraph(MessagesState)
_chat.add_node("think", think)
_chat.add_node("chat", chat)
_chat.add_edge(START, "think")
_chat.add_edge("think", "chat")
_chat.add_edge("chat", END)
chat_graph = _chat.compile()


class Approval(TypedDict, total=False):
    topic: str
    steps: Annotated[list[str], operator.add]
    answer: str


async def draft(state: Approval) -> Approval:
    return {"steps": ["draft"]}


async def review(state: Approval) -> Approval:
    answer = interrupt({"question": f"publish {state.get('topic')}?"})
    return {"steps": ["review"], "answer": answer}


async def publish(state: Approval) -> Approval:
    return {"steps": ["publish"]}


_approve = StateGraph(Approval)
_approve.add_node("draft", draft)
_approve.add_node("review", review)
_approve.add_node("publish", publish)
_approve.add_edge(START, "draft")
_approve.add_edge("draft", "review")
_approve.add_edge("review", "publish")
_approve.add_edge("publish", END)
approve_graph = _approve.compile()


class Nested(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]


async def prepare(state: Nested) -> Nested:
    return {"steps": ["prepare"]}


async def work(state: Nested) -> Nested:
    get_stream_writer()({"working": True})
    return {"steps": ["work"]}


async def finish(state: Nested) -> Nested:
    return {"steps": ["finish"]}


_inner = StateGraph(Nested)
_inner.add_node("work", work)
_inner.add_edge(START, "work")
_inner.add_edge("work", END)

_nested = StateGraph(Nested)
_nested.add_node("prepare", prepare)
_nested.add_node("inner", _inner.compile())
_nested.add_node("finish", finish)
_nested.add_edge(START, "prepare")
_nested.add_edge("prepare", "inner")
_nested.add_edge("inner", "finish")
_nested.add_edge("finish", END)
nested_graph = _nested.compile()


async def start(state: Nested) -> Nested:
    get_stream_writer()({"started": True})
    return {"steps": ["start"]}


async def wait(state: Nested) -> Nested:
    await anyio.sleep(2)
    return {"steps": ["wait"]}


_slow = StateGraph(Nested)
_slow.add_node("start", start)
_slow.add_node("wait", wait)
_slow.add_edge(START, "start")
_slow.add_edge("start", "wait")
_slow.add_edge("wait", END)
slow_graph = _slow.compile()


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def call(state: MessagesState) -> dict[str, Any]:
    calls = [{"name": "weather", "args": {"city": "Paris"}, "id": "call-1"}]
    return {"messages": [AIMessage("", tool_calls=calls, id="ask-1")]}


_weather = StateGraph(MessagesState)
_weather.add_node("call", call)
_weather.add_node("tools", ToolNode([weather]))
_weather.add_edge(START, "call")
_weather.add_edge("call", "tools")
_weather.add_edge("tools", END)
weather_graph = _weather.compile()
