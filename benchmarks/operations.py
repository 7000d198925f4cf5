"""What the operations features cost per run: ``python -m benchmarks.operations [N]``.

One process: the app's lifespan entered by hand, requests through httpx's ASGI
transport (no sockets), ``N`` runs of a two-node graph on one thread
(``/threads/{id}/runs/wait``, a SQLite checkpointer), measured in this thread's CPU time
per run, for three apps: metrics off (``ServerSettings(metrics=False)``), metrics on (the
default), and metrics plus tracing (an OpenTelemetry ``TracerProvider`` with an in-memory
exporter). The three are measured in turn, ``ROUNDS`` times; the minimum of each is the
figure least disturbed by other processes on the machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

import anyio
import httpx

from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import ServerSettings, create_app

ROUNDS = 7
KINDS = ("metrics off", "metrics on", "metrics + tracing")


class State(TypedDict, total=False):
    n: int


async def _step(state: State) -> State:
    return {"n": state.get("n", 0) + 1}


def _graph() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", _step)
    builder.add_node("b", _step)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    return builder.compile()


def _provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return provider


async def measure(kind: str, runs: int, folder: Path) -> float:
    """CPU microseconds per run of this thread, for one app of ``kind``."""
    saver = SqliteSaver(folder / f"{time.monotonic_ns()}.db")
    app = create_app(
        {"g": _graph()},
        saver,
        settings=ServerSettings(metrics=kind != "metrics off"),
        tracer_provider=_provider() if kind == "metrics + tracing" else None,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as http,
    ):
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "g", "input": {"n": 0}}
        for _ in range(50):  # warm up
            await http.post(f"/threads/{tid}/runs/wait", json=body)
        start = time.thread_time()
        for _ in range(runs):
            response = await http.post(f"/threads/{tid}/runs/wait", json=body)
            assert response.status_code == 200, response.text
        took = time.thread_time() - start
    await saver.aclose()
    return took / runs * 1e6


async def main(runs: int) -> None:
    figures: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(ROUNDS):
            for kind in KINDS:
                figures[kind].append(await measure(kind, runs, Path(folder)))
    base = min(figures["metrics off"])
    for kind, values in figures.items():
        best = min(values)
        print(f"{kind:18s} {best:7.0f} us/run (min of {ROUNDS}; {best / base - 1:+.1%})")


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 500)
