"""``Last-Event-ID`` on ``GET /threads/{id}/runs/{run_id}/stream`` (issue 13, item 7), on
the real app served by hypercorn over a real SQLite store, under asyncio and trio.

- ``-1`` means "from the start" (LangGraph's JS SDK sends it from ``useStream`` on remount
  and for queued runs): the run's events are replayed from its first one.
- Any other value that is not a plain in-range event id (non-ASCII digits, numbers longer
  than Python's int-parsing limit, out of range, garbage) is a 422 naming the header.
- A cursor past the end of a run's log is clamped: it never changes what another listener
  of the run gets (it used to move the trim point so others got nothing, not even ``end``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypedDict

import anyio
import httpx
import pytest

from _server import free_port
from scopegraph import END, START, StateGraph, get_stream_writer
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import ServerSettings, create_app
from test_server_trio import serve, sse_events, wait_until_serving

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]

AFTER_GATE = 100  # more than a non-resumable log holds before it trims (64)


class State(TypedDict, total=False):
    n: int


def gated_graph(started: anyio.Event, gate: anyio.Event) -> Any:
    async def emit(state: State) -> State:
        write = get_stream_writer()
        write({"i": 0})
        started.set()
        await gate.wait()
        for i in range(1, AFTER_GATE + 1):
            write({"i": i})
        return {"n": AFTER_GATE}

    builder = StateGraph(State)
    builder.add_node("emit", emit)
    builder.add_edge(START, "emit")
    builder.add_edge("emit", END)
    return builder.compile()


@contextlib.asynccontextmanager
async def served(tmp_path: Path, graph: Any, backend: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        {"gated": graph},
        SqliteSaver(tmp_path / "checkpoints.db"),
        database=str(tmp_path / "server.db"),
        settings=ServerSettings(shutdown_grace_seconds=5),
    )
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, backend))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                await wait_until_serving(http)
                yield http
        finally:
            shutdown.set()


async def collect(
    http: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    subscribed: anyio.Event,
    into: list[tuple[str, Any]],
) -> None:
    async with (
        http.stream("GET", url, headers=headers) as response,
        contextlib.aclosing(sse_events(response)) as stream,
    ):
        assert response.status_code == 200
        subscribed.set()  # the response has started: the listener's cursor exists
        async for event in stream:
            into.append(event)


async def test_cursor_past_the_end_is_clamped_and_changes_no_other_listener(
    anyio_backend: str, tmp_path: Path
) -> None:
    started, gate = anyio.Event(), anyio.Event()
    async with served(tmp_path, gated_graph(started, gate), anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "gated", "input": {"n": 0}, "stream_mode": "custom"}
        created = await http.post(f"/threads/{tid}/runs", json=body)
        assert created.status_code == 200, created.text
        run_id = created.json()["run_id"]
        url = f"/threads/{tid}/runs/{run_id}/stream"
        with anyio.fail_after(30):
            await started.wait()
            past: list[tuple[str, Any]] = []
            plain: list[tuple[str, Any]] = []
            async with anyio.create_task_group() as tg:
                first, second = anyio.Event(), anyio.Event()
                tg.start_soon(collect, http, url, {"Last-Event-ID": "1000000000"}, first, past)
                await first.wait()
                tg.start_soon(collect, http, url, {}, second, plain)
                await second.wait()
                gate.set()
        # the plain listener got every event after it joined; the stream then closed
        # without an `end` event, as LangGraph's server closes it
        assert "end" not in [e for e, _ in plain]
        assert [d["i"] for e, d in plain if e == "custom"] == list(range(1, AFTER_GATE + 1))
        # the one whose cursor was past the end is clamped to the end of the log
        assert "end" not in [e for e, _ in past]
        assert [d["i"] for e, d in past if e == "custom"] == list(range(1, AFTER_GATE + 1))
        run = (await http.get(f"/threads/{tid}/runs/{run_id}")).json()
        assert run["status"] == "success"


async def test_minus_one_replays_the_run_from_the_start(anyio_backend: str, tmp_path: Path) -> None:
    started, gate = anyio.Event(), anyio.Event()
    gate.set()
    async with served(tmp_path, gated_graph(started, gate), anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {
            "assistant_id": "gated",
            "input": {"n": 0},
            "stream_mode": "custom",
            "stream_resumable": True,
        }
        run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        with anyio.fail_after(30):
            await http.get(f"/threads/{tid}/runs/{run_id}/join")
            events: list[tuple[str, Any]] = []
            await collect(
                http,
                f"/threads/{tid}/runs/{run_id}/stream",
                {"Last-Event-ID": "-1"},
                anyio.Event(),
                events,
            )
        names = [e for e, _ in events]
        assert names[0] == "metadata"
        assert events[0][1]["run_id"] == run_id
        assert "end" not in names
        assert [d["i"] for e, d in events if e == "custom"] == list(range(AFTER_GATE + 1))
        # joining the finished resumable run without Last-Event-ID replays it too, as
        # LangGraph's server does
        with anyio.fail_after(30):
            again: list[tuple[str, Any]] = []
            url = f"/threads/{tid}/runs/{run_id}/stream"
            await collect(http, url, {}, anyio.Event(), again)
        assert again == events


@pytest.mark.parametrize(
    "value",
    [
        "²".encode("latin-1"),  # str.isdigit() says yes, int() says no
        "9" * 5000,  # longer than Python's int-parsing limit
        "9" * 40,  # not an event id of any run
        "-2",
        "abc",
        "1.5",
        "+1",
    ],
    ids=["superscript", "over-int-limit", "out-of-range", "minus-two", "garbage", "float", "plus"],
)
async def test_a_value_that_is_not_an_event_id_is_a_422_naming_the_header(
    anyio_backend: str, tmp_path: Path, value: str | bytes
) -> None:
    started, gate = anyio.Event(), anyio.Event()
    async with served(tmp_path, gated_graph(started, gate), anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "gated", "input": {"n": 0}, "stream_mode": "custom"}
        run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        try:
            with anyio.fail_after(30):
                await started.wait()
                headers = httpx.Headers(
                    [(b"Last-Event-ID", value if isinstance(value, bytes) else value.encode())]
                )
                url = f"/threads/{tid}/runs/{run_id}/stream"
                response = await http.get(url, headers=headers)
                assert response.status_code == 422, response.text
                assert "Last-Event-ID header" in response.json()["message"]
        finally:
            gate.set()
        with anyio.fail_after(30):
            await http.get(f"/threads/{tid}/runs/{run_id}/join")
