"""The agent rows: a ReAct loop built with LangChain's ``create_agent`` (a model node, a
``ToolNode``, the conditional edges between them), on LangGraph's engine and adopted on
scopegraph's (``scopegraph.langgraph.adopt``: the same LangGraph-built graph, rebuilt).

The model is scripted, no network: each call answers with one tool call (the three tools
in turn) until ``turns`` tool results are in the conversation, then with a final answer.
The model and the tools do almost nothing, so the time per turn is the cost of the
machinery around them: two supersteps (the model's, the tools'), LangChain's callbacks
and message handling, and ToolNode's tool call.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Sequence
from typing import Any

import anyio
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool, tool

from ._libs import Lib
from ._timing import best_seconds

__all__ = ("TOOLS", "ScriptedModel", "agent_peak_memory", "agent_turn_time")


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


@tool
def describe(a: int, b: int) -> str:
    """Describe two numbers."""
    return f"{a} and {b}"


TOOLS: tuple[BaseTool, ...] = (add, multiply, describe)


class ScriptedModel(BaseChatModel):
    """A chat model that calls the tools in turn, ``turns`` times, then answers."""

    turns: int = 10

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedModel:
        return self

    def _reply(self, messages: list[BaseMessage]) -> ChatResult:
        done = sum(isinstance(m, ToolMessage) for m in messages)
        if done < self.turns:
            call = {"name": TOOLS[done % 3].name, "args": {"a": done, "b": 2}, "id": f"c{done}"}
            message = AIMessage("", tool_calls=[call])
        else:
            message = AIMessage(f"done after {done} tool calls")
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return self._reply(messages)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return self._reply(messages)


def _agent(lib: Lib, turns: int) -> Any:
    return lib.react_agent(ScriptedModel(turns=turns), list(TOOLS))


async def _run(graph: Any, turns: int) -> None:
    result = await graph.ainvoke({"messages": [HumanMessage("go")]})
    messages = result["messages"]
    # the question, then per turn a tool call and its result, then the answer
    if len(messages) != 2 * turns + 2 or not isinstance(messages[-1], AIMessage):
        raise AssertionError(f"the agent did not take {turns} turns: {messages!r}")


async def agent_turn_time(lib: Lib, *, turns: int, repeats: int) -> float:
    """Seconds per turn (a model call and a tool call) of a ``turns``-turn agent run."""
    graph = _agent(lib, turns)
    return await best_seconds(lambda: _run(graph, turns), repeats=repeats, warmup=2) / turns


async def agent_peak_memory(lib: Lib, *, runs: int, turns: int) -> float:
    """Peak bytes allocated (tracemalloc) while ``runs`` agent runs of ``turns`` turns
    execute at once."""
    graph = _agent(lib, turns)

    async def all_at_once() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(runs):
                tg.start_soon(_run, graph, turns)

    await all_at_once()  # lazy imports and caches, untraced
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await all_at_once()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return float(peak - baseline)
