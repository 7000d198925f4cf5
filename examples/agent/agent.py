"""A LangChain agent served by ``scopegraph serve``: run ``scopegraph serve`` in this folder.

``langchain.agents.create_agent`` with, and nothing scopegraph-specific in the file:

- a scripted chat model (:class:`ScriptedModel`) that decides from the conversation, so the
  agent runs without a network and gives the same transcript every time;
- ``memory``: long-term memory in the server's Store, per user (``context={"user_id":
  ...}``), read and written through ``ToolRuntime``: what one thread saves another reads;
- ``research``: a slow async tool whose cleanup runs in a shielded cancel scope and
  records that it completed (in the file ``$AGENT_CLEANUP_LOG``), to show that stopping a
  run mid-tool lets the tool finish its cleanup;
- ``HumanInTheLoopMiddleware``: a person approves, edits or rejects each ``research`` call
  before it runs (the run pauses with an interrupt; ``Command(resume=...)`` answers it).

The same file runs on LangGraph (``langgraph dev``); ``tests/test_agent_served.py`` drives
it through the LangGraph SDK on scopegraph's server and compares the transcript with
LangGraph's, turn by turn.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.tools import ToolRuntime, tool
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult


@dataclass
class Context:
    """Who the agent talks to: the namespace of their memories."""

    user_id: str = "anonymous"


# -- the chat model ----------------------------------------------------------------------


class ScriptedModel(BaseChatModel):
    """A chat model that answers by rules instead of a network call.

    After a person's message it calls a tool when asked to (``remember: ...``, ``what do
    you remember?``, ``research ...``, ``research ... thoroughly``) and otherwise answers in
    words; after a tool's result it reports it. Tool call ids count the conversation's
    messages, so one conversation gives the same ids on every run.
    """

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedModel:
        return self  # the rules know the tools

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages))])

    @staticmethod
    def _reply(messages: list[BaseMessage]) -> AIMessage:
        last = messages[-1]
        call_id = f"call-{len(messages)}"
        if isinstance(last, ToolMessage):
            # The result's last line: a reviewer's edit notice comes before it.
            return AIMessage(f"{last.name} says: {str(last.content).splitlines()[-1]}")
        text = str(last.content).strip() if isinstance(last, HumanMessage) else ""
        if match := re.fullmatch(r"remember:?\s*(.+)", text, re.IGNORECASE):
            args: dict[str, Any] = {"action": "save", "fact": match[1]}
            return _call("I will remember that.", "memory", args, call_id)
        if re.fullmatch(r"what do you remember\??", text, re.IGNORECASE):
            return _call("Let me look.", "memory", {"action": "recall"}, call_id)
        if match := re.fullmatch(r"research (.+?)( thoroughly)?", text, re.IGNORECASE):
            args = {"topic": match[1], "thorough": bool(match[2])}
            return _call("Researching.", "research", args, call_id)
        return AIMessage(f"You said: {text}")


def _call(content: str, name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content, tool_calls=[{"name": name, "args": args, "id": call_id}])


# -- the tools ---------------------------------------------------------------------------


@tool
async def memory(action: str, runtime: ToolRuntime[Context], fact: str = "") -> str:
    """Long-term memory about the user: action "save" stores a fact, "recall" lists them."""
    assert runtime.store is not None, "the agent needs a store (the server gives one)"
    namespace = ("memories", runtime.context.user_id)
    if action == "save":
        items = await runtime.store.asearch(namespace)
        await runtime.store.aput(namespace, f"fact-{len(items) + 1}", {"fact": fact})
        return f"saved: {fact}"
    items = await runtime.store.asearch(namespace)
    facts = sorted(items, key=lambda item: item.key)
    return "; ".join(item.value["fact"] for item in facts) or "nothing yet"


RESEARCH_SECONDS = 3600.0  # a thorough study: only a stop ends it early


@tool
async def research(topic: str, runtime: ToolRuntime[Context], thorough: bool = False) -> str:
    """Research a topic: a quick look, or a thorough study that takes a long time."""
    runtime.stream_writer({"research": "started", "topic": topic})
    try:
        await anyio.sleep(RESEARCH_SECONDS if thorough else 0)
        return f"{topic} is well documented"
    finally:
        # Cleanup that must happen even when the run is stopped mid-tool (closing a
        # session, releasing a lock): shielded, so the stop waits for it.
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.1)
            _record(f"research-cleanup-done {topic}")


def _record(line: str) -> None:
    if path := os.environ.get("AGENT_CLEANUP_LOG"):
        with Path(path).open("a") as log:
            log.write(line + "\n")


# -- the agent -----------------------------------------------------------------------------

# A person approves, edits or rejects each research call before it runs.
approval: HumanInTheLoopMiddleware[Any, Context] = HumanInTheLoopMiddleware(
    interrupt_on={"research": True}
)

agent = create_agent(
    ScriptedModel(),
    [memory, research],
    middleware=[approval],
    context_schema=Context,
    name="assistant",
)
