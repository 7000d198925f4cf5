"""The drop-in acceptance test: the seed app verbatim, with one import line changed.

``tests/seed/scopegraph_seed_app.py`` is the bug report's FastAPI app exactly as written,
except ``from langgraph.graph import ...`` → ``from scopegraph import ...``: it still
imports ``adispatch_custom_event`` and ``RunnableConfig`` from langchain_core and streams
``astream_events`` through Starlette's ``StreamingResponse``. Under real uvicorn, 20
clients read three events each and hang up; every session must print, in this order,
the node's cancellation and its shielded cleanup to completion, then the generator's.

The same harness on the unchanged LangGraph app shows the reported bug, which is how we
know the harness can see it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from _server import free_port

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "seed"
CLIENTS = 20
EVENTS = 3

EXPECTED = [
    "Detected Cancel (Inside LangGraph)",
    "Finalize (Inside LangGraph)",
    "Finalize complete (Inside LangGraph)",
    "Detected Cancel (Outside LangGraph)",
    "Finalize (Outside LangGraph)",
    "Finalize Completed (Outside Graph)",
]
_LINE = re.compile(r"^\[(\d+)\] (.*)$")


class SeedServer:
    def __init__(self, app_file: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "_seed_server.py"),
                str(app_file),
                str(self.port),
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:  # wait until it serves
            assert self.process.poll() is None, self.text()
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, self.text()
                time.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def sessions(self) -> dict[int, list[str]]:
        lines: dict[int, list[str]] = defaultdict(list)
        for line in self.text().splitlines():
            match = _LINE.match(line)
            if match:
                lines[int(match[1])].append(match[2])
        return lines

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self._out.close()


@pytest.fixture
def seed_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeedServer]:
    server = SeedServer(SEED / request.param, tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


async def hang_up_after_events(port: int) -> None:
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", f"http://127.0.0.1:{port}/stream") as response,
    ):
        seen = 0
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                seen += 1
                if seen == EVENTS:
                    return  # leaving the block closes the connection


def wait_for_sessions(server: SeedServer, last_line: str, count: int) -> dict[int, list[str]]:
    deadline = time.monotonic() + 30
    while True:
        sessions = server.sessions()
        done = [s for s in sessions.values() if last_line in s]
        if len(done) >= count or time.monotonic() > deadline:
            return sessions
        time.sleep(0.1)


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning")
@pytest.mark.parametrize("seed_server", ["scopegraph_seed_app.py"], indirect=True)
async def test_seed_app_with_scopegraph_import(seed_server: SeedServer) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(CLIENTS):
            tg.start_soon(hang_up_after_events, seed_server.port)
    sessions = wait_for_sessions(seed_server, EXPECTED[-1], CLIENTS)
    assert len(sessions) == CLIENTS, seed_server.text()
    for number, lines in sessions.items():
        assert lines[0].startswith("Sesstion ID: ")
        assert lines[1:] == EXPECTED, f"session {number}:\n" + "\n".join(lines)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning")
@pytest.mark.parametrize("seed_server", ["langgraph_seed_app.py"], indirect=True)
async def test_the_harness_sees_the_reported_bug_on_langgraph(seed_server: SeedServer) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(hang_up_after_events, seed_server.port)
    sessions = wait_for_sessions(seed_server, EXPECTED[-1], 3)
    assert len(sessions) == 3, seed_server.text()
    for lines in sessions.values():
        # The report: the node's shielded cleanup dies with CancelledError.
        assert "Finalize (Inside LangGraph)" in lines
        assert "Finalize complete (Inside LangGraph)" not in lines
        assert any(line.startswith("Exception await (Inside LangGraph):") for line in lines)
