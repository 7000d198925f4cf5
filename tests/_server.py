"""A real ``scopegraph serve`` process on loopback, for the server tests.

``with running_server(tmp_path) as server:`` starts ``scopegraph serve`` (the example
graphs of ``examples/server_graph.py`` by default) on a free port with a SQLite database
in ``tmp_path``, waits for ``GET /ok``, and on exit sends SIGTERM and checks that the
process exits 0. ``server.cleanups()`` reads the cleanup log the example graph writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "server_graph.py"
DEFAULT_GRAPHS = (f"agent={EXAMPLE}:graph", f"approval={EXAMPLE}:approval")


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never one this test process handed out before.

    The kernel may give the same ephemeral port to two ``bind(0)`` calls in a row once the
    first socket is closed; two servers started from one fixture (a cluster's API processes)
    then race for it and one fails with "address already in use". Remembering the ports
    already handed out makes each call's answer distinct.
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@dataclasses.dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    cleanup_log: Path
    output: Path
    api_key: str | None

    def cleanups(self) -> list[str]:
        """Lines of the cleanup log: ``cleanup-start|cleanup-done <node> <run_id>``."""
        if not self.cleanup_log.exists():
            return []
        return self.cleanup_log.read_text().splitlines()

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key} if self.api_key else {}

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the server did not stop on SIGTERM:\n{self.log()}") from None


@contextlib.contextmanager
def running_server(
    tmp_path: Path,
    *,
    graphs: Sequence[str] = DEFAULT_GRAPHS,
    api_key: str | None = None,
    db: str | None = None,
    grace: float = 10.0,
    env: dict[str, str] | None = None,
    interval: float = 0.05,
    cleanup: float = 0.2,
    extra_args: Sequence[str] = (),
    expect_status: int = 0,
) -> Iterator[Server]:
    port = free_port()
    cleanup_log = tmp_path / "cleanup.log"
    output = tmp_path / "server.log"
    args = [sys.executable, "-m", "scopegraph._cli", "serve", "--port", str(port)]
    for spec in graphs:
        args += ["--graph", spec]
    args += ["--db", db or str(tmp_path / "server.db"), "--grace", str(grace)]
    args += ["--log-level", "warning"]
    if api_key:
        args += ["--api-key", api_key]
    args += extra_args
    environment = {
        **os.environ,
        "SCOPEGRAPH_CLEANUP_LOG": str(cleanup_log),
        "SCOPEGRAPH_DEMO_INTERVAL": str(interval),
        "SCOPEGRAPH_DEMO_CLEANUP": str(cleanup),
        **(env or {}),
    }
    with output.open("wb") as out:
        process = subprocess.Popen(
            args, cwd=tmp_path, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, cleanup_log, output, api_key)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"the server exited with {process.returncode}:\n{server.log()}"
                )
            try:
                if httpx.get(f"{server.url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{server.log()}")
            time.sleep(0.05)
        yield server
    finally:
        status = server.terminate()
    assert status == expect_status, f"the server exited with {status}:\n{server.log()}"
