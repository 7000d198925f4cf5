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
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread
import sniffio
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool, StructuredTool

from ._libs import Lib
from ._timing import best_seconds

__all__ = (
    "TOOLS",
    "ScriptedModel",
    "agent_peak_memory",
    "agent_turn_overhead",
    "agent_turn_time",
)


def _add(a: int, b: int) -> int:
    return a + b


def _multiply(a: int, b: int) -> int:
    return a * b


def _describe(a: int, b: int) -> str:
    return f"{a} and {b}"


def _both(fn: Callable[[int, int], Any], description: str) -> BaseTool:
    """A tool with a sync and an async function: ``ainvoke`` awaits the async one (no
    executor thread), ``invoke`` (trio, in a worker thread) calls the sync one."""

    async def coroutine(a: int, b: int) -> Any:
        return fn(a, b)

    name = fn.__name__.lstrip("_")
    return StructuredTool.from_function(
        func=fn, coroutine=coroutine, name=name, description=description
    )


add = _both(_add, "Add two numbers.")
multiply = _both(_multiply, "Multiply two numbers.")
describe = _both(_describe, "Describe two numbers.")

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


def _model_and_tools_alone_sync(turns: int) -> None:
    """:func:`_model_and_tools_alone` with LangChain's sync calls (trio runs the agent's
    nodes so, in worker threads)."""
    model = ScriptedModel(turns=turns)
    by_name = {t.name: t for t in TOOLS}
    messages: list[BaseMessage] = [HumanMessage("go")]
    for _ in range(turns):
        reply = model.invoke(messages)
        messages.append(reply)
        call = reply.tool_calls[0]
        messages.append(by_name[call["name"]].invoke(call))
    messages.append(model.invoke(messages))


async def _model_and_tools_alone(turns: int) -> None:
    """The LangChain work of a run without a graph: each turn's model call on the
    conversation so far, then its tool call; on asyncio with ``ainvoke``, on trio with
    ``invoke`` in a worker thread (as the adopted agent's nodes run there)."""
    if sniffio.current_async_library() != "asyncio":
        await anyio.to_thread.run_sync(_model_and_tools_alone_sync, turns)
        return
    model = ScriptedModel(turns=turns)
    by_name = {t.name: t for t in TOOLS}
    messages: list[BaseMessage] = [HumanMessage("go")]
    for _ in range(turns):
        reply = await model.ainvoke(messages)
        messages.append(reply)
        call = reply.tool_calls[0]
        messages.append(await by_name[call["name"]].ainvoke(call))
    messages.append(await model.ainvoke(messages))


async def agent_turn_overhead(lib: Lib, *, turns: int, repeats: int) -> float:
    """Seconds per turn of a ``turns``-turn agent run beyond the same model and tool
    calls made without a graph (:func:`_model_and_tools_alone`): what the graph, its
    nodes and ToolNode add to a turn. The two are timed alternately, sample by sample,
    and the best of each is taken, so that a change of the machine's load between them
    does not land on one side only."""
    graph = _agent(lib, turns)
    for _ in range(2):  # warm-up
        await _run(graph, turns)
        await _model_and_tools_alone(turns)
    best_graph = best_alone = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        await _model_and_tools_alone(turns)
        best_alone = min(best_alone, time.perf_counter() - start)
        gc.collect()
        start = time.perf_counter()
        await _run(graph, turns)
        best_graph = min(best_graph, time.perf_counter() - start)
    return max(best_graph - best_alone, 1e-9) / turns


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
