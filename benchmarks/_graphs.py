"""The benchmark graphs, written once against :class:`~benchmarks._libs.Lib`.

All nodes are ``async def``. Each builder returns a compiled graph of ``lib``.
"""

from __future__ import annotations

import itertools
import operator
import time
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import anyio

from ._libs import Lib

if TYPE_CHECKING:
    # LangGraph passes the config only to a parameter annotated with this *name*.
    from scopegraph import RunnableConfig

__all__ = (
    "CancelProbe",
    "Counter",
    "FanOut",
    "blocked_graph",
    "chain_graph",
    "custom_events_graph",
    "fanout_graph",
    "stream_writer_graph",
)


class Counter(TypedDict):
    x: int


class FanOut(TypedDict):
    n: int
    done: Annotated[int, operator.add]


async def increment(state: Counter) -> dict[str, int]:
    return {"x": state["x"] + 1}


def chain_graph(lib: Lib, length: int, checkpointer: Any = None) -> Any:
    """START -> n0 -> n1 -> ... -> END; every node adds one to ``x``."""
    graph = lib.StateGraph(Counter)
    names = [f"n{i}" for i in range(length)]
    for name in names:
        graph.add_node(name, increment)
    graph.add_edge(lib.START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], lib.END)
    if checkpointer is None:
        return graph.compile()
    return graph.compile(checkpointer=checkpointer)


def fanout_graph(lib: Lib) -> Any:
    """START sends ``n`` tasks to ``work``; each adds one to ``done``."""

    def fan(state: FanOut) -> list[Any]:
        return [lib.Send("work", {"n": i}) for i in range(state["n"])]

    async def work(arg: dict[str, int]) -> dict[str, int]:
        return {"done": 1}

    graph = lib.StateGraph(FanOut)
    graph.add_node("work", work)
    graph.add_conditional_edges(lib.START, fan, ["work"])
    graph.add_edge("work", lib.END)
    return graph.compile()


def stream_writer_graph(lib: Lib) -> Any:
    """One node that writes ``x`` chunks to the ``custom`` stream."""

    async def chatter(state: Counter) -> dict[str, int]:
        write = lib.get_stream_writer()
        for i in range(state["x"]):
            write(i)
        return {"x": 0}

    graph = lib.StateGraph(Counter)
    graph.add_node("chatter", chatter)
    graph.add_edge(lib.START, "chatter")
    graph.add_edge("chatter", lib.END)
    return graph.compile()


def custom_events_graph(lib: Lib) -> Any:
    """One node that dispatches ``x`` custom events (for ``astream_events``)."""

    async def emitter(state: Counter, config: RunnableConfig) -> dict[str, int]:
        for i in range(state["x"]):
            await lib.adispatch_custom_event("tick", i, config=config)
        return {"x": 0}

    graph = lib.StateGraph(Counter)
    graph.add_node("emitter", emitter)
    graph.add_edge(lib.START, "emitter")
    graph.add_edge("emitter", lib.END)
    return graph.compile()


class CancelProbe:
    """What a cancellation trial observes: when the node started waiting, and when it
    saw the cancellation (``time.perf_counter()``)."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.cancelled_at: float | None = None


def blocked_graph(lib: Lib, probe: list[CancelProbe]) -> Any:
    """One node that waits forever and records when it is cancelled in ``probe[-1]``."""

    async def blocked(state: Counter) -> dict[str, int]:
        trial = probe[-1]
        trial.started.set()
        try:
            await anyio.Event().wait()
        except anyio.get_cancelled_exc_class():
            trial.cancelled_at = time.perf_counter()
            raise
        raise AssertionError("unreachable: nothing sets this event")

    graph = lib.StateGraph(Counter)
    graph.add_node("blocked", blocked)
    graph.add_edge(lib.START, "blocked")
    graph.add_edge("blocked", lib.END)
    return graph.compile()
