"""The graph ``python -m benchmarks.server`` serves with ``scopegraph serve``.

One node, ``stream``, emits ``events`` custom events through ``get_stream_writer()``, each
``{"i": i, "ts": time.time()}`` (the client subtracts ``ts`` from its own clock for the
latency), with ``anyio.sleep(interval)`` between them. Its ``finally:`` does a shielded
cleanup of ``cleanup`` seconds. It appends one line to the file named by
``SCOPEGRAPH_CLEANUP_LOG`` when it starts (``start stream <id>``), when its cleanup starts
(``cleanup-start stream <id>``) and when its cleanup is done (``cleanup-done stream
<id>``), where ``<id>`` is the client's ``id`` from the input.

The input is ``{"id": str, "events": int, "interval": float, "cleanup": float}``; missing
numbers come from ``SCOPEGRAPH_DEMO_INTERVAL`` / ``SCOPEGRAPH_DEMO_CLEANUP`` (seconds).

:mod:`benchmarks.seed_app` has the same node, written against LangGraph.
"""

from __future__ import annotations

import os
import time
from typing import TypedDict

import anyio

from scopegraph import END, START, StateGraph, get_stream_writer

CLEANUP_LOG = os.environ.get("SCOPEGRAPH_CLEANUP_LOG")
INTERVAL = float(os.environ.get("SCOPEGRAPH_DEMO_INTERVAL", "0.01"))
CLEANUP = float(os.environ.get("SCOPEGRAPH_DEMO_CLEANUP", "0.5"))


def log_cleanup(line: str) -> None:
    if CLEANUP_LOG:
        with open(CLEANUP_LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class State(TypedDict, total=False):
    id: str
    events: int
    interval: float
    cleanup: float


async def stream(state: State) -> None:
    write = get_stream_writer()
    client = state.get("id", "-")
    interval = state.get("interval", INTERVAL)
    log_cleanup(f"start stream {client}")
    try:
        for i in range(state.get("events", 50)):
            write({"i": i, "ts": time.time()})
            await anyio.sleep(interval)
    finally:
        with anyio.CancelScope(shield=True):
            log_cleanup(f"cleanup-start stream {client}")
            await anyio.sleep(state.get("cleanup", CLEANUP))  # e.g. close a model stream
            log_cleanup(f"cleanup-done stream {client}")


builder = StateGraph(State)
builder.add_node("stream", stream)
builder.add_edge(START, "stream")
builder.add_edge("stream", END)
graph = builder.compile()
