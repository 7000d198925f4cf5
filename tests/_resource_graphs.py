"""Graphs for the resource tests (``tests/test_server_resources.py``).

- ``echo``: one node that records what the run saw: the ``configurable`` of its config
  (without the ids the server adds) and its runtime context, and appends ``input`` to
  ``log`` (the input ``"fail"`` raises ``ValueError``). A run of an assistant shows the
  assistant's config and context merged under the run's own.
- ``slow``: streams ``{"started": run_id}`` (custom), then sleeps until it is cancelled;
  its shielded cleanup writes ``cleanup <run_id>`` to ``SCOPEGRAPH_CLEANUP_LOG``.
"""

from __future__ import annotations

import operator
import os
from typing import Annotated, Any, TypedDict

import anyio

from scopegraph import END, START, StateGraph, get_config, get_stream_writer, interrupt
from scopegraph.runtime import get_runtime

_SERVER_KEYS = {"thread_id", "checkpoint_id", "checkpoint_ns", "run_id", "graph_id", "assistant_id"}


class State(TypedDict, total=False):
    input: str
    log: Annotated[list[str], operator.add]
    configurable: dict[str, Any]
    context: dict[str, Any]


class Context(TypedDict, total=False):
    model: str
    temperature: float


def see(state: State) -> State:
    if state.get("input") == "fail":
        raise ValueError("asked to fail")
    configurable = get_config().get("configurable", {})
    context = get_runtime().context
    return {
        "log": [state.get("input", "")],
        "configurable": {
            k: v
            for k, v in configurable.items()
            if k not in _SERVER_KEYS and not k.startswith("__")
        },
        "context": dict(context) if isinstance(context, dict) else {},
    }


builder = StateGraph(State, context_schema=Context)
builder.add_node("see", see)
builder.add_edge(START, "see")
builder.add_edge("see", END)
echo = builder.compile()


async def wait(state: State) -> State:
    run_id = get_config().get("metadata", {}).get("run_id", "-")
    get_stream_writer()({"started": run_id})
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.05)
            log = os.environ.get("SCOPEGRAPH_CLEANUP_LOG")
            if log:
                async with await anyio.open_file(log, "a") as f:
                    await f.write(f"cleanup {run_id}\n")
    return {}  # pragma: no cover - never reached


slow_builder = StateGraph(State)
slow_builder.add_node("wait", wait)
slow_builder.add_edge(START, "wait")
slow_builder.add_edge("wait", END)
slow = slow_builder.compile()


def ask(state: State) -> State:
    answer = interrupt("inner question")
    return {"log": [f"answered {answer}"]}


inner_builder = StateGraph(State)
inner_builder.add_node("ask", ask)
inner_builder.add_edge(START, "ask")
inner_builder.add_edge("ask", END)

nested_builder = StateGraph(State)
nested_builder.add_node("sub", inner_builder.compile())
nested_builder.add_edge(START, "sub")
nested_builder.add_edge("sub", END)
nested = nested_builder.compile()
"""``nested``: its node ``sub`` runs a subgraph whose node ``ask`` interrupts."""
