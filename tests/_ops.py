"""Helpers of the operations tests (metrics, tracing, logs): an app served in-process by
hypercorn on loopback, on the test's backend (asyncio or trio), and graphs whose nodes
wait for the test."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypedDict

import anyio
import httpx
from hypercorn.config import Config

from _server import free_port
from scopegraph import END, START, StateGraph
from scopegraph.server import drain


class State(TypedDict, total=False):
    n: int


class Gate:
    """A node that signals it started, waits until the test opens the gate (or is
    cancelled), and runs a shielded cleanup of ``cleanup`` seconds; ``log`` records it."""

    def __init__(self, cleanup: float = 0.05) -> None:
        self.cleanup = cleanup
        self.started = anyio.Event()
        self.open = anyio.Event()
        self.log: list[str] = []

    def reset(self) -> None:
        self.started = anyio.Event()
        self.open = anyio.Event()

    async def node(self, state: State) -> State:
        self.started.set()
        try:
            await self.open.wait()
            return {"n": state.get("n", 0) + 1}
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(self.cleanup)
                self.log.append("cleanup done")


def gate_graph(gate: Gate) -> Any:
    """``first`` (instant) then ``gate`` (see :class:`Gate`)."""

    async def first(state: State) -> State:
        return {"n": state.get("n", 0)}

    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("gate", gate.node)
    builder.add_edge(START, "first")
    builder.add_edge("first", "gate")
    builder.add_edge("gate", END)
    return builder.compile()


def quick_graph() -> Any:
    async def step(state: State) -> State:
        return {"n": state.get("n", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile()


@contextlib.asynccontextmanager
async def serving(app: Any, backend: str) -> AsyncIterator[httpx.AsyncClient]:
    """Serve ``app`` with hypercorn until the block ends (then drain it: runs end, cleanups
    finish); yields a client of it, once ``/ok`` answers."""
    port = free_port()
    shutdown = anyio.Event()

    async def trigger() -> None:
        await shutdown.wait()
        await drain(app)

    async def serve() -> None:
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.loglevel = "WARNING"
        config.graceful_timeout = 5
        if backend == "trio":
            from hypercorn.trio import serve as trio_serve

            await trio_serve(app, config, shutdown_trigger=trigger)
        else:
            from hypercorn.asyncio import serve as asyncio_serve

            await asyncio_serve(app, config, shutdown_trigger=trigger)

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            with anyio.fail_after(20):
                while True:
                    try:
                        if (await http.get("/ok")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await anyio.sleep(0.02)
            try:
                yield http
            finally:
                shutdown.set()


async def sse_events(response: httpx.Response) -> AsyncGenerator[tuple[str, Any], None]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])
