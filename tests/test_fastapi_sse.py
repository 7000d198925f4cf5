"""The seed bug report's FastAPI SSE app (examples/fastapi_sse.py) under a real server.

Clients read a few events and hang up; for every session the server must print the
node's shielded cleanup to completion BEFORE the SSE generator's own cleanup, which must
complete too. The client side runs on asyncio and trio (the ``anyio_backend`` fixture);
the server side runs under uvicorn (asyncio) and, when hypercorn is installed, under
hypercorn's trio worker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from importlib.util import find_spec, module_from_spec, spec_from_file_location
from pathlib import Path
from pprint import pformat
from types import ModuleType
from typing import IO, Any, cast

import anyio
import httpx
import pytest

from _server import free_port as _free_port

pytestmark = [
    pytest.mark.anyio,
    # Hanging up mid-stream is the point of these tests, but httpx and httpcore leave
    # their internal body generators (aiter_text, _receive_response_body, ...) suspended
    # instead of aclose()-ing them, and trio warns when it finalizes them. Not ours to fix
    # (encode/httpcore#1019, encode/httpx#3777); our own generators are closed explicitly.
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fastapi_sse.py"

CLIENTS = 20
EVENTS_PER_CLIENT = 3
INTERVAL = "0.05"
CLEANUP = "0.05"
STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0
CLEANUP_TIMEOUT = 20.0
POLL_INTERVAL = 0.05

EXPECTED_CLEANUP = (
    "Detected Cancel (Inside LangGraph)",
    "Finalize (Inside LangGraph)",
    "Finalize complete (Inside LangGraph)",
    "Detected Cancel (Outside LangGraph)",
    "Finalize (Outside LangGraph)",
    "Finalize Completed (Outside Graph)",
)
LAST_LINES = ("Finalize Completed (Outside Graph)", "Exception await (Ouside LangGraph):")
LINE = re.compile(r"^\[(?P<session>[0-9a-f]{6})\] (?P<message>.*)$")


@dataclass
class DemoServer:
    base_url: str
    stdout: Path
    stderr: Path

    async def sessions(self) -> dict[str, list[str]]:
        """The server's output lines, grouped by session id, in the order printed."""
        text = await anyio.Path(self.stdout).read_text()
        sessions: dict[str, list[str]] = {}
        last: list[str] | None = None
        for line in text.splitlines():
            match = LINE.match(line)
            if match is None:
                if last is not None and last:  # continuation of a multi-line message
                    last[-1] += "\n" + line
                continue
            last = sessions.setdefault(match["session"], [])
            last.append(match["message"])
        return sessions


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SHUTDOWN_TIMEOUT)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, stderr: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    for _ in range(int(STARTUP_TIMEOUT / POLL_INTERVAL) + 1):
        if process.poll() is not None:
            pytest.fail(f"the demo server exited with {process.returncode}:\n{stderr.read_text()}")
        try:
            if httpx.get(base_url + "/", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(POLL_INTERVAL)
    pytest.fail(f"the demo server was not ready after {STARTUP_TIMEOUT}s:\n{stderr.read_text()}")


@pytest.fixture(
    params=[
        "uvicorn",
        pytest.param(
            "hypercorn-trio",
            marks=pytest.mark.skipif(
                find_spec("hypercorn") is None, reason="hypercorn is not installed"
            ),
        ),
    ]
)
def demo_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DemoServer]:
    """examples/fastapi_sse.py served on a free loopback port, its stdout to a file."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = DemoServer(base_url, tmp_path / "stdout.txt", tmp_path / "stderr.txt")
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SCOPEGRAPH_DEMO_INTERVAL": INTERVAL,
        "SCOPEGRAPH_DEMO_CLEANUP": CLEANUP,
    }
    command = [
        sys.executable,
        str(EXAMPLE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--server",
        str(request.param),
    ]
    stdout: IO[bytes]
    stderr: IO[bytes]
    with server.stdout.open("wb") as stdout, server.stderr.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        try:
            _wait_until_ready(process, base_url, server.stderr)
            yield server
        finally:
            _stop(process)


async def _read_data_events(response: httpx.Response, count: int) -> list[str]:
    """The ``data`` of the first ``count`` SSE events; comments (pings) are skipped."""
    events: list[str] = []
    data: list[str] = []
    # aiter_lines() is an async generator; close it here rather than leave it to the GC.
    lines = cast("AsyncGenerator[str, None]", response.aiter_lines())
    async with aclosing(lines):
        async for line in lines:
            if not line:
                if data:
                    events.append("\n".join(data))
                    data = []
                    if len(events) == count:
                        return events
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value.removeprefix(" "))
    raise AssertionError(f"the stream ended after {len(events)} events: {events!r}")


async def _client(base_url: str) -> tuple[str, list[str]]:
    """Open /stream, read EVENTS_PER_CLIENT events, hang up; the session id and the data."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10.0) as client,
        client.stream("GET", "/stream") as response,
    ):
        response.raise_for_status()
        session_id = response.headers["x-session-id"]
        events = await _read_data_events(response, EVENTS_PER_CLIENT)
    return session_id, events


async def _wait_for_cleanup(server: DemoServer, session_ids: set[str]) -> dict[str, list[str]]:
    """Poll the server's output until every session has printed its last line (bounded)."""
    sessions = await server.sessions()
    deadline = anyio.current_time() + CLEANUP_TIMEOUT
    for _ in range(int(CLEANUP_TIMEOUT / POLL_INTERVAL) + 1):
        if all(
            any(line.startswith(LAST_LINES) for line in sessions.get(session_id, ()))
            for session_id in session_ids
        ):
            break
        if anyio.current_time() > deadline:
            break
        await anyio.sleep(POLL_INTERVAL)
        sessions = await server.sessions()
    return sessions


@pytest.mark.uvicorn
async def test_index_serves_page_with_start_and_stop_buttons(demo_server: DemoServer) -> None:
    async with httpx.AsyncClient(base_url=demo_server.base_url, timeout=10.0) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<button onclick="startStream()">Start</button>' in response.text
    assert '<button onclick="stopStream()">Stop</button>' in response.text
    assert "new EventSource('/stream')" in response.text


@pytest.mark.uvicorn
async def test_disconnected_clients_get_node_cleanup_then_generator_cleanup_in_order(
    demo_server: DemoServer,
) -> None:
    results: list[tuple[str, list[str]]] = []

    async def one_client() -> None:
        results.append(await _client(demo_server.base_url))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(CLIENTS):
                tg.start_soon(one_client)

    assert len(results) == CLIENTS
    expected_events = [f"Node {i}" for i in range(EVENTS_PER_CLIENT)]
    for session_id, events in results:
        assert events == expected_events, session_id
    session_ids = {session_id for session_id, _ in results}
    assert len(session_ids) == CLIENTS

    sessions = await _wait_for_cleanup(demo_server, session_ids)

    # Exactly the clients' sessions, each with its full cleanup, inner before outer.
    assert set(sessions) == session_ids
    wrong = {
        session_id: lines
        for session_id, lines in sorted(sessions.items())
        if lines != _expected_lines(session_id)
    }
    assert not wrong, (
        f"{len(wrong)} of {CLIENTS} sessions did not clean up in order; expected "
        f"{pformat(list(EXPECTED_CLEANUP))}, got:\n{pformat(wrong, width=120)}"
    )


def _expected_lines(session_id: str) -> list[str]:
    return [f"Session ID: {session_id}", *EXPECTED_CLEANUP]


def _load_example() -> ModuleType:
    spec = spec_from_file_location("scopegraph_example_fastapi_sse", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_generator_closed_at_its_yield_cleans_up_node_first(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path a real server rarely takes: the client hangs up while an event is being
    sent, and sse-starlette aclose()s the generator, shielded, from a cancelled task."""
    demo: Any = _load_example()
    monkeypatch.setattr(demo, "INTERVAL", 0.01)
    monkeypatch.setattr(demo, "CLEANUP", 0.01)
    stream = demo.sse_generator("abc123")
    received = [await stream.__anext__() for _ in range(EVENTS_PER_CLIENT)]
    with anyio.CancelScope() as scope:
        scope.cancel()
        with anyio.CancelScope(shield=True):
            await stream.aclose()
    assert received == [f"Node {i}" for i in range(EVENTS_PER_CLIENT)]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"[abc123] {line}" for line in _expected_lines("abc123")]


async def test_generator_cancelled_while_waiting_cleans_up_node_first(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual path: the client hangs up while the generator waits for the next event."""
    demo: Any = _load_example()
    monkeypatch.setattr(demo, "INTERVAL", 0.01)
    monkeypatch.setattr(demo, "CLEANUP", 0.01)
    received: list[str] = []
    async with aclosing(demo.sse_generator("abc123")) as stream:
        with anyio.CancelScope() as scope:
            async for item in stream:
                received.append(item)
                if len(received) == EVENTS_PER_CLIENT:
                    scope.cancel()
    assert scope.cancelled_caught
    assert received == [f"Node {i}" for i in range(EVENTS_PER_CLIENT)]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"[abc123] {line}" for line in _expected_lines("abc123")]
