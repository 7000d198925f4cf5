"""The run server on both backends: ``create_app`` served in-process by hypercorn, under
asyncio and under trio, driven by httpx (which runs on both).

A client streams a run with ``on_disconnect="cancel"`` and hangs up; the node's shielded
cleanup completes, the run ends ``interrupted`` with its checkpoint saved, and the thread
resumes from it. Then the server shuts down with a run in flight: the run is cancelled,
its cleanup completes, and its stream gets the final event.
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import AsyncGenerator, MutableMapping
from pathlib import Path
from typing import Any, TypedDict

import anyio
import httpx
import orjson
import pytest
from hypercorn.config import Config

from _server import free_port
from scopegraph import END, START, StateGraph, get_stream_writer
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import ServerSettings, create_app, drain

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]


class State(TypedDict, total=False):
    ticks: int


def counting_graph(log: list[str], started: anyio.Event) -> Any:
    async def tick(state: State) -> State:
        write = get_stream_writer()
        try:
            for i in range(10_000):
                write({"i": i})
                if i == 2:
                    started.set()
                await anyio.sleep(0.002)
            return {"ticks": 10_000}
        except anyio.get_cancelled_exc_class():
            log.append("node cancelled")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)
                log.append("node cleanup done")

    builder = StateGraph(State)
    builder.add_node("tick", tick)
    builder.add_edge(START, "tick")
    builder.add_edge("tick", END)
    return builder.compile()


async def serve(app: Any, port: int, shutdown: anyio.Event, backend: str) -> None:
    async def trigger() -> None:
        await shutdown.wait()
        await drain(app)  # runs end and streams get their final event, then hypercorn stops

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


async def sse_events(response: httpx.Response) -> AsyncGenerator[tuple[str, Any], None]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


async def wait_until_serving(http: httpx.AsyncClient) -> None:
    with anyio.fail_after(20):
        while True:
            try:
                if (await http.get("/ok")).status_code == 200:
                    return
            except httpx.TransportError:
                await anyio.sleep(0.02)


async def test_disconnect_and_shutdown_on_both_backends(anyio_backend: str, tmp_path: Path) -> None:
    log: list[str] = []
    started = anyio.Event()
    saver = SqliteSaver(tmp_path / "checkpoints.db")
    app = create_app(
        {"count": counting_graph(log, started)},
        saver,
        database=str(tmp_path / "server.db"),
        settings=ServerSettings(shutdown_grace_seconds=0),
    )
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http)
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            body = {
                "assistant_id": "count",
                "input": {"ticks": 0},
                "stream_mode": "custom",
                "on_disconnect": "cancel",
            }
            run_id = None
            async with (
                http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response,
                contextlib.aclosing(sse_events(response)) as stream,
            ):
                async for event, data in stream:
                    if event == "metadata":
                        run_id = data["run_id"]
                    if event == "custom" and data["i"] == 3:
                        break  # hang up
            assert run_id is not None
            await http.get(f"/threads/{tid}/runs/{run_id}/join")  # returns when it has ended
            run = (await http.get(f"/threads/{tid}/runs/{run_id}")).json()
            assert run["status"] == "interrupted"
            assert log == ["node cancelled", "node cleanup done"]
            lifecycle = [e["event"] for e in run["lifecycle"]]
            assert lifecycle[2:] == ["cleanup finished", "checkpoint saved"]
            state = (await http.get(f"/threads/{tid}/state")).json()
            assert state["next"] == ["tick"]

            # Shutdown with a run in flight: cancelled, cleaned up, final event sent.
            log.clear()
            started = anyio.Event()
            events: list[str] = []
            resume = {**body, "input": None, "on_disconnect": "continue"}
            async with (
                http.stream("POST", f"/threads/{tid}/runs/stream", json=resume) as response,
                contextlib.aclosing(sse_events(response)) as stream,
            ):
                async for event, data in stream:
                    events.append(event)
                    if event == "custom" and data["i"] == 3:
                        shutdown.set()
        assert events[-1] == "error"
        assert log == ["node cancelled", "node cleanup done"]
    await saver.aclose()


async def test_heartbeats_and_location_headers(anyio_backend: str, tmp_path: Path) -> None:
    """While a run is quiet the stream carries heartbeat comments; the response says
    where the run is (``Content-Location``) and where to rejoin its stream
    (``Location``)."""
    proceed = anyio.Event()

    async def wait_for_test(state: State) -> State:
        await proceed.wait()
        return {"ticks": 1}

    builder = StateGraph(State)
    builder.add_node("wait", wait_for_test)
    builder.add_edge(START, "wait")
    builder.add_edge("wait", END)
    saver = SqliteSaver(tmp_path / "checkpoints.db")
    app = create_app(
        {"quiet": builder.compile()}, saver, settings=ServerSettings(heartbeat_seconds=0.05)
    )
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http)
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            body = {"assistant_id": "quiet", "input": {"ticks": 0}, "stream_mode": "values"}
            lines: list[str] = []
            async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                base = response.headers["content-location"]
                run_id = base.rsplit("/", 1)[1]
                assert base == f"/threads/{tid}/runs/{run_id}"
                assert response.headers["location"] == f"{base}/stream"
                async for line in response.aiter_lines():
                    lines.append(line)
                    if line.startswith(":"):
                        proceed.set()  # a heartbeat came while the node waited
            assert lines[0] == "event: metadata"
            assert any(line.startswith(":") for line in lines)
            assert "event: end" not in lines  # the stream closes, as LangGraph's does
            assert lines[-3] == "event: values"  # the run's last event: its final values
        shutdown.set()
    await saver.aclose()


async def test_run_timeout(anyio_backend: str, tmp_path: Path) -> None:
    """A run past its timeout is cancelled once: its cleanup completes, its checkpoint is
    saved, it ends ``timeout`` and its stream ends with a RunTimeout error event."""
    log: list[str] = []
    saver = SqliteSaver(tmp_path / "checkpoints.db")
    app = create_app({"count": counting_graph(log, anyio.Event())}, saver)
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http)
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            body = {"assistant_id": "count", "input": {"ticks": 0}, "timeout": 0.2}
            events: list[tuple[str, Any]] = []
            async with (
                http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response,
                contextlib.aclosing(sse_events(response)) as stream,
            ):
                async for event, data in stream:
                    events.append((event, data))
            run_id = events[0][1]["run_id"]
            run = (await http.get(f"/threads/{tid}/runs/{run_id}")).json()
        shutdown.set()
    assert events[-1] == ("error", {"error": "RunTimeout", "message": events[-1][1]["message"]})
    assert run["status"] == "timeout"
    assert [e["event"] for e in run["lifecycle"]][1:] == [
        "timed out",
        "cleanup finished",
        "checkpoint saved",
    ]
    assert log == ["node cancelled", "node cleanup done"]
    await saver.aclose()


async def test_a_stalled_client_does_not_hold_the_run(anyio_backend: str, tmp_path: Path) -> None:
    """A client that stops reading (its socket buffer full: ``send`` never returns) is
    dropped after the send timeout; with ``on_disconnect="cancel"`` its run is then
    cancelled, the node's cleanup completes, and the run's event log is released."""
    log: list[str] = []
    started = anyio.Event()
    saver = SqliteSaver(tmp_path / "checkpoints.db")
    app = create_app(
        {"count": counting_graph(log, started)},
        saver,
        settings=ServerSettings(send_timeout_seconds=0.2, heartbeat_seconds=60),
    )
    server = app.state.server
    tid = str(uuid.uuid4())
    body = orjson.dumps(
        {
            "assistant_id": "count",
            "input": {"ticks": 0},
            "stream_mode": "custom",
            "on_disconnect": "cancel",
            "if_not_exists": "create",
        }
    )
    sent: list[bytes] = []
    stall = anyio.Event()
    requested: list[bool] = []

    async def receive() -> dict[str, Any]:
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()  # the client never hangs up: it only stops reading
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))
            if len(sent) > 3:
                stall.set()
                await anyio.sleep_forever()  # a full socket buffer: this send never returns

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/threads/{tid}/runs/stream",
        "raw_path": f"/threads/{tid}/runs/stream".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    async with app.router.lifespan_context(app):
        with anyio.fail_after(20):
            await app(scope, receive, send)  # returns once the send timeout dropped it
            (live,) = list(server.manager.live.values()) or [None]
            if live is not None:
                await live.done.wait()
        assert stall.is_set()
        runs = await server.docs.runs(tid, None, 10, 0)
        assert [r["status"] for r in runs] == ["interrupted"]
        assert log == ["node cancelled", "node cleanup done"]
        assert all(not live.frames for live in server.manager.live.values())
    await saver.aclose()
