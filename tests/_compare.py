"""Run the same scenario on LangGraph and on scopegraph, and compare the results.

Tests write a graph once against ``lib`` (``LG`` or ``SG``: the same names from either
library) and compare normalized outputs: ids and timestamps differ by design, everything
else must match.
"""

from __future__ import annotations

import asyncio
import operator
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from types import SimpleNamespace
from typing import Annotated, Any, TypedDict, TypeVar

import anyio.to_thread
import langchain_core.callbacks.manager
import langgraph.config
import langgraph.errors
import langgraph.graph
import langgraph.types

import scopegraph

T = TypeVar("T")

LG = SimpleNamespace(
    name="langgraph",
    StateGraph=langgraph.graph.StateGraph,
    START=langgraph.graph.START,
    END=langgraph.graph.END,
    Send=langgraph.types.Send,
    Command=langgraph.types.Command,
    RetryPolicy=langgraph.types.RetryPolicy,
    interrupt=langgraph.types.interrupt,
    GraphRecursionError=langgraph.errors.GraphRecursionError,
    InvalidUpdateError=langgraph.errors.InvalidUpdateError,
    get_config=langgraph.config.get_config,
    get_stream_writer=langgraph.config.get_stream_writer,
    adispatch_custom_event=langchain_core.callbacks.manager.adispatch_custom_event,
)
SG = SimpleNamespace(
    name="scopegraph",
    StateGraph=scopegraph.StateGraph,
    START=scopegraph.START,
    END=scopegraph.END,
    Send=scopegraph.Send,
    Command=scopegraph.Command,
    RetryPolicy=scopegraph.RetryPolicy,
    interrupt=scopegraph.interrupt,
    GraphRecursionError=scopegraph.GraphRecursionError,
    InvalidUpdateError=scopegraph.InvalidUpdateError,
    get_config=scopegraph.get_config,
    get_stream_writer=scopegraph.get_stream_writer,
    adispatch_custom_event=scopegraph.adispatch_custom_event,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Normalizer:
    """Replaces ids by ``<id0>``, ``<id1>``... in order of first appearance, and timestamps.

    Dict keys are visited in sorted order, so the numbering does not depend on key order,
    and the same id always gets the same label: relations between ids (a task's start and
    result, a node's run_id and its children's parent_ids) are kept.
    """

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def _label(self, match: re.Match[str]) -> str:
        return self.ids.setdefault(match.group(0), f"<id{len(self.ids)}>")

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return _UUID.sub(self._label, obj)
        if isinstance(obj, dict):
            out = {}
            for key in sorted(obj, key=str):
                out[key] = "<timestamp>" if key == "timestamp" else self(obj[key])
            return out
        if isinstance(obj, list):
            return [self(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self(item) for item in obj)
        if isinstance(obj, BaseException):
            return ("error", type(obj).__name__, self(str(obj)))
        if type(obj).__name__ == "Send":
            return ("Send", obj.node, self(obj.arg))
        if type(obj).__name__ == "Command":
            return ("Command", obj.graph, self(obj.update), obj.resume, self(obj.goto))
        return obj


def normalize(obj: Any) -> Any:
    return Normalizer()(obj)


async def langgraph_reference(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a LangGraph scenario in a fresh asyncio loop in a worker thread, so that the
    same test also runs on trio."""
    return await anyio.to_thread.run_sync(lambda: asyncio.run(scenario()))


async def compare(
    build: Callable[[Any], Any], scenario: Callable[[Any, Any], Coroutine[Any, Any, Any]]
) -> tuple[Any, Any]:
    """(LangGraph's result, scopegraph's result) of ``scenario(lib, build(lib))``, normalized."""
    expected = await langgraph_reference(lambda: scenario(LG, build(LG)))
    actual = await scenario(SG, build(SG))
    return normalize(expected), normalize(actual)


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [chunk async for chunk in stream]


async def drain(stream: AsyncIterator[Any], into: list[Any]) -> None:
    """Append every chunk of ``stream`` to ``into`` (which keeps them if the stream fails)."""
    async for chunk in stream:
        into.append(chunk)


class S(TypedDict):
    """The state most comparison tests use."""

    x: int
    log: Annotated[list[str], operator.add]


INPUT: dict[str, Any] = {"x": 0, "log": []}


def subgraph_parent(lib: Any) -> Any:
    """A parent graph whose node ``child`` is a compiled graph (c1 -> c2, c2 writes)."""

    async def c1(state: S) -> dict[str, Any]:
        return {"x": 100, "log": ["c1"]}

    async def c2(state: S) -> dict[str, Any]:
        lib.get_stream_writer()({"from": "c2"})
        return {"log": ["c2"]}

    child = lib.StateGraph(S)
    child.add_node("c1", c1)
    child.add_node("c2", c2)
    child.add_edge(lib.START, "c1")
    child.add_edge("c1", "c2")
    child.add_edge("c2", lib.END)

    async def p(state: S) -> dict[str, Any]:
        return {"log": ["p"]}

    parent = lib.StateGraph(S)
    parent.add_node("p", p)
    parent.add_node("child", child.compile())
    parent.add_edge(lib.START, "p")
    parent.add_edge("p", "child")
    parent.add_edge("child", lib.END)
    return parent.compile()
