"""Example graphs for ``scopegraph serve`` (``make demo`` serves them).

- ``graph``: streams tokens as custom events, one step per sentence; each node does a
  shielded cleanup when the run is cancelled (press Stop in the playground). With the
  default interval a run takes about 13 s: time to press Stop calmly.
- ``approval``: drafts, asks a human with ``interrupt()``, then publishes; resume it with
  ``Command(resume=...)`` (``command: {"resume": "yes"}`` over HTTP).
- ``chat``: a chat on ``messages`` with a local model (no network) that streams its reply
  token by token (``stream_mode="messages-tuple"``) and calls a ``weather`` tool when asked
  about the weather; a conditional edge without path_map routes to the tool. With
  langchain_core installed (``scopegraph[langchain]``) the messages are LangChain's and the
  tokens stream; without it they are plain dicts and each reply arrives whole.
- ``pipeline``: ``gather`` → ``summarise`` (a subgraph: ``split`` → ``condense``) →
  ``report``, each step streaming its progress as custom events.

Environment: ``SCOPEGRAPH_DEMO_INTERVAL`` (seconds per token or step, default 0.4),
``SCOPEGRAPH_DEMO_CLEANUP`` (seconds of shielded cleanup, default 0.2),
``SCOPEGRAPH_DEMO_TOKENS`` (tokens of the ``answer`` node, default 24),
``SCOPEGRAPH_CLEANUP_LOG`` (a file that gets a line when each cleanup starts and ends).
"""

from __future__ import annotations

import json
import operator
import os
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict

import anyio

from scopegraph import END, START, StateGraph, get_config, get_stream_writer, interrupt

INTERVAL = float(os.environ.get("SCOPEGRAPH_DEMO_INTERVAL", "0.4"))
CLEANUP = float(os.environ.get("SCOPEGRAPH_DEMO_CLEANUP", "0.2"))
TOKENS = int(os.environ.get("SCOPEGRAPH_DEMO_TOKENS", "24"))
CLEANUP_LOG = os.environ.get("SCOPEGRAPH_CLEANUP_LOG")


def _log(line: str) -> None:
    if CLEANUP_LOG:
        with open(CLEANUP_LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class State(TypedDict, total=False):
    prompt: str
    tokens: Annotated[list[str], operator.add]
    sentences: int


async def _stream_sentence(name: str, words: list[str]) -> dict[str, list[str]]:
    write = get_stream_writer()
    run_id = get_config().get("metadata", {}).get("run_id", "-")
    sent: list[str] = []
    try:
        for word in words:
            write({"node": name, "token": word})
            sent.append(word)
            await anyio.sleep(INTERVAL)
        return {"tokens": sent}
    finally:
        with anyio.CancelScope(shield=True):
            _log(f"cleanup-start {name} {run_id}")
            await anyio.sleep(CLEANUP)  # e.g. close a model stream, release a lock
            _log(f"cleanup-done {name} {run_id}")


def _words(state: State, count: int) -> list[str]:
    prompt = state.get("prompt") or "tell me a story"
    return [f"{w}" for w in (prompt.split() * count)[: max(count, 1)]]


async def think(state: State) -> dict[str, list[str]]:
    return await _stream_sentence("think", _words(state, 8))


async def answer(state: State) -> dict[str, list[str]]:
    return await _stream_sentence("answer", _words(state, TOKENS))


builder = StateGraph(State)
builder.add_node("think", think)
builder.add_node("answer", answer)
builder.add_edge(START, "think")
builder.add_edge("think", "answer")
builder.add_edge("answer", END)
graph = builder.compile()


class Approval(TypedDict, total=False):
    draft: str
    approved: bool
    published: str


async def draft(state: Approval) -> Approval:
    return {"draft": f"draft: {state.get('draft') or 'hello'}"}


async def review(state: Approval) -> Approval:
    answer = interrupt({"question": "publish this draft?", "draft": state["draft"]})
    return {"approved": str(answer).lower() in ("yes", "y", "true", "ok")}


async def publish(state: Approval) -> Approval:
    return {"published": state["draft"] if state.get("approved") else ""}


approval_builder = StateGraph(Approval)
approval_builder.add_node("draft", draft)
approval_builder.add_node("review", review)
approval_builder.add_node("publish", publish)
approval_builder.add_edge(START, "draft")
approval_builder.add_edge("draft", "review")
approval_builder.add_edge("review", "publish")
approval_builder.add_edge("publish", END)
approval = approval_builder.compile()


# -- chat: messages streamed by a local model, a tool call, a conditional edge ---------------


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else message.content
    return content if isinstance(content, str) else str(content)


def _kind(message: Any) -> str:
    """human, ai or tool, for a LangChain message or a dict (``role`` or ``type``)."""
    if not isinstance(message, dict):
        return str(message.type)
    kind = str(message.get("type") or message.get("role") or "human")
    return {"user": "human", "assistant": "ai"}.get(kind, kind)


def _tool_calls(message: Any) -> list[dict[str, Any]]:
    calls = message.get("tool_calls") if isinstance(message, dict) else message.tool_calls
    return list(calls or []) if _kind(message) == "ai" else []


def _reply(messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The model's next reply: (text, tool calls). Asked about the weather, it calls the
    ``weather`` tool; given the tool's result, it reports it; else it answers the turn."""
    last = messages[-1] if messages else {"type": "human", "content": ""}
    turn = sum(_kind(m) == "human" for m in messages)
    if _kind(last) == "tool":
        return f"The weather tool says: {_text(last)}. Anything else?", []
    said = _text(last).strip()
    city = re.search(r"weather in ([A-Za-z ]+)", said, re.IGNORECASE)
    if city:
        where = city.group(1).strip().title()
        return "", [{"name": "weather", "args": {"city": where}, "id": f"call_{turn}"}]
    return (
        f"You said: {said or '(nothing)'}. This is turn {turn} of our chat, and every word "
        "of this reply streams as a token."
    ), []


def _weather(city: str) -> str:
    return f"sunny and 21 °C in {city}"


def _route(state: Any) -> str:
    return "tools" if _tool_calls(state["messages"][-1]) else END


try:
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
    from langchain_core.messages.tool import tool_call_chunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    from scopegraph.graph import MessagesState
except ImportError:  # the server extra alone: plain dict messages, whole replies
    LANGCHAIN = False
else:
    LANGCHAIN = True

if LANGCHAIN:

    class LocalModel(BaseChatModel):
        """A chat model without network: :func:`_reply`, streamed a word at a time."""

        @property
        def _llm_type(self) -> str:
            return "scopegraph-demo"

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: Any = None,
            run_manager: Any = None,
            **kwargs: Any,
        ) -> ChatResult:
            text, calls = _reply(messages)
            return ChatResult(
                generations=[ChatGeneration(message=AIMessage(text, tool_calls=calls))]
            )

        async def _astream(
            self,
            messages: list[BaseMessage],
            stop: Any = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> AsyncIterator[ChatGenerationChunk]:
            text, calls = _reply(messages)
            words = text.split(" ") if text else []
            for i, word in enumerate(words):
                token = word if i == len(words) - 1 else word + " "
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
                if run_manager is not None:
                    await run_manager.on_llm_new_token(token, chunk=chunk)
                yield chunk
                await anyio.sleep(INTERVAL / 4)
            if calls:
                call_chunks = [
                    tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
                    for i, c in enumerate(calls)
                ]
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content="", tool_call_chunks=call_chunks)
                )
                if run_manager is not None:
                    await run_manager.on_llm_new_token("", chunk=chunk)
                yield chunk

    MODEL = LocalModel()

    async def model(state: MessagesState) -> dict[str, list[Any]]:
        return {"messages": [await MODEL.ainvoke(state["messages"])]}

    async def tools(state: MessagesState) -> dict[str, list[Any]]:
        await anyio.sleep(INTERVAL)
        calls = _tool_calls(state["messages"][-1])
        return {
            "messages": [
                ToolMessage(_weather(c["args"]["city"]), tool_call_id=c["id"], name=c["name"])
                for c in calls
            ]
        }

    chat_builder = StateGraph(MessagesState)

else:

    def _append(left: list[dict[str, Any]], right: Any) -> list[dict[str, Any]]:
        new = right if isinstance(right, list) else [right]
        out = list(left)
        for m in new:
            m = {"content": m} if isinstance(m, str) else dict(m)
            m["type"] = _kind(m)
            m.pop("role", None)
            m.setdefault("id", f"m{len(out)}")
            out.append(m)
        return out

    class Chat(TypedDict):
        messages: Annotated[list[dict[str, Any]], _append]

    async def model(state: Chat) -> dict[str, list[Any]]:  # type: ignore[misc]
        write = get_stream_writer()
        text, calls = _reply(state["messages"])
        for word in text.split(" ") if text else []:
            write({"node": "model", "token": word})
            await anyio.sleep(INTERVAL / 4)
        return {"messages": [{"type": "ai", "content": text, "tool_calls": calls}]}

    async def tools(state: Chat) -> dict[str, list[Any]]:  # type: ignore[misc]
        await anyio.sleep(INTERVAL)
        calls = _tool_calls(state["messages"][-1])
        return {
            "messages": [
                {
                    "type": "tool",
                    "content": _weather(c["args"]["city"]),
                    "tool_call_id": c["id"],
                    "name": c["name"],
                }
                for c in calls
            ]
        }

    chat_builder = StateGraph(Chat)


chat_builder.add_node("model", model)
chat_builder.add_node("tools", tools)
chat_builder.add_edge(START, "model")
chat_builder.add_conditional_edges("model", _route)  # no path_map: drawn to every node
chat_builder.add_edge("tools", "model")
chat = chat_builder.compile()


# -- pipeline: a subgraph, with progress ---------------------------------------------------


class Pipeline(TypedDict, total=False):
    topic: str
    notes: list[str]
    summary: str
    report: str


async def _progress(name: str, steps: int) -> None:
    write = get_stream_writer()
    for step in range(1, steps + 1):
        await anyio.sleep(INTERVAL)
        write({"node": name, "progress": f"{step}/{steps}"})


async def gather(state: Pipeline) -> Pipeline:
    await _progress("gather", 4)
    topic = state.get("topic") or "structured concurrency"
    return {"notes": [f"{topic}: source {i}" for i in (1, 2, 3)]}


async def split(state: Pipeline) -> Pipeline:
    await _progress("split", 3)
    return {"notes": [f"{note} ({half})" for note in state["notes"] for half in ("a", "b")]}


async def condense(state: Pipeline) -> Pipeline:
    await _progress("condense", 3)
    return {"summary": f"{len(state['notes'])} notes condensed into one"}


async def report(state: Pipeline) -> Pipeline:
    await _progress("report", 3)
    return {
        "report": f"report on {state.get('topic') or 'structured concurrency'}: {state['summary']}"
    }


summarise_builder = StateGraph(Pipeline)
summarise_builder.add_node("split", split)
summarise_builder.add_node("condense", condense)
summarise_builder.add_edge(START, "split")
summarise_builder.add_edge("split", "condense")
summarise_builder.add_edge("condense", END)
summarise = summarise_builder.compile()

pipeline_builder = StateGraph(Pipeline)
pipeline_builder.add_node("gather", gather)
pipeline_builder.add_node("summarise", summarise)
pipeline_builder.add_node("report", report)
pipeline_builder.add_edge(START, "gather")
pipeline_builder.add_edge("gather", "summarise")
pipeline_builder.add_edge("summarise", "report")
pipeline_builder.add_edge("report", END)
pipeline = pipeline_builder.compile()
