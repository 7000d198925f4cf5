"""The LangGraph side of ``python -m benchmarks.server``: the app of the original report.

The shape of the LangGraph + FastAPI SSE app in the report that started scopegraph (a
node's ``anyio.CancelScope(shield=True)`` cleanup dies when the client disconnects): a
LangGraph ``StateGraph`` whose node streams custom events and does a shielded cleanup in
``finally:``, and a FastAPI endpoint that streams the graph's events through
sse-starlette's ``EventSourceResponse``. The node is :mod:`benchmarks.server_graph`'s,
line for line, and the endpoint takes the same request as ``scopegraph serve``'s
``POST /runs/stream``, so one load generator drives both servers.

``SEED_STREAM`` picks how the events travel:

- ``astream`` (the default): the node calls ``get_stream_writer()`` and the endpoint
  streams ``graph.astream(..., stream_mode="custom")``;
- ``astream_events``: exactly the report's API, ``adispatch_custom_event()`` in the node
  and ``graph.astream_events(..., version="v2")`` in the endpoint.

Serve it with ``uvicorn benchmarks.seed_app:app`` (``SCOPEGRAPH_CLEANUP_LOG`` names the
cleanup log). Unlike the report, the graph's stream is closed with ``aclosing()``, so that
a disconnect closes it at once rather than at garbage collection (in LangGraph's favour).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any, TypedDict, cast

import anyio
import orjson
from fastapi import Body, FastAPI
from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from sse_starlette import EventSourceResponse

CLEANUP_LOG = os.environ.get("SCOPEGRAPH_CLEANUP_LOG")
INTERVAL = float(os.environ.get("SCOPEGRAPH_DEMO_INTERVAL", "0.01"))
CLEANUP = float(os.environ.get("SCOPEGRAPH_DEMO_CLEANUP", "0.5"))
STREAM = os.environ.get("SEED_STREAM", "astream")
if STREAM not in ("astream", "astream_events"):
    raise ValueError(f"SEED_STREAM={STREAM!r}: expected 'astream' or 'astream_events'")


def log_cleanup(line: str) -> None:
    if CLEANUP_LOG:
        with open(CLEANUP_LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class State(TypedDict, total=False):
    id: str
    events: int
    interval: float
    cleanup: float


async def stream(state: State, config: RunnableConfig) -> None:
    write = get_stream_writer() if STREAM == "astream" else None
    client = state.get("id", "-")
    interval = state.get("interval", INTERVAL)
    log_cleanup(f"start stream {client}")
    try:
        for i in range(state.get("events", 50)):
            if write is not None:
                write({"i": i, "ts": time.time()})
            else:
                data = {"i": i, "ts": time.time()}
                await adispatch_custom_event("bench", data, config=config)
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

app = FastAPI()


@app.get("/ok")
async def ok() -> dict[str, Any]:
    return {"ok": True, "stream": STREAM}


@app.post("/runs/stream")
async def runs_stream(body: Annotated[dict[str, Any], Body()]) -> EventSourceResponse:
    graph_input: Any = body.get("input") or {}

    async def chunks() -> AsyncIterator[dict[str, str]]:
        if STREAM == "astream":
            stream = cast(
                "AsyncGenerator[Any, None]", graph.astream(graph_input, stream_mode="custom")
            )
            async with aclosing(stream):
                async for chunk in stream:
                    yield {"event": "custom", "data": orjson.dumps(chunk).decode()}
        else:
            events = cast(
                "AsyncGenerator[Any, None]", graph.astream_events(graph_input, version="v2")
            )
            async with aclosing(events):
                async for event in events:
                    if event["event"] == "on_custom_event":
                        yield {"event": "custom", "data": orjson.dumps(event["data"]).decode()}

    return EventSourceResponse(chunks())
