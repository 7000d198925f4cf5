"""A throwaway Redis server for tests, started from the installed ``redis-server`` binary.

Use the fixtures by binding them in a test module (no conftest.py needed)::

    import _redis

    redis_server = _redis.redis_server
    redis_url = _redis.redis_url

    def test_something(redis_url: str) -> None:  # an empty database
        ...

Import this module as ``_redis`` (``tests/`` is on ``sys.path`` under pytest, as for
``_helpers`` and ``_pg``), never as ``tests._redis``: mypy would see the file under two
module names, and two module objects would start two servers. Binding by assignment
rather than ``from _redis import redis_url`` keeps ruff quiet (F401, and F811 for every
test argument).

- ``redis_server`` (session): the server shared by the session (a :class:`RedisServer`,
  127.0.0.1 only, no password).
- ``redis_url`` (function): the URL of its database 0, emptied (``FLUSHALL``) for each
  test.
- :func:`running_redis_server`: a context manager for a test that needs a server of its
  own (e.g. to restart it); :meth:`RedisServer.restart` stops it and starts it again on
  the same port. Nothing is persisted (``--save '' --appendonly no``), so a restart
  loses every key, as a crash of a Redis without persistence does.

The server runs ``redis-server --port P --bind 127.0.0.1 --save '' --appendonly no
--dir TMP`` on a free port, in a temporary directory; at the end it is stopped and the
directory deleted. Without the binary (or without redis-py) the tests are skipped, or
fail when ``CI=true``, naming what to install.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from _server import free_port

__all__ = (
    "RedisServer",
    "free_port",
    "redis_server",
    "redis_url",
    "require_client",
    "running_redis_server",
    "shared_server",
)

_STARTUP_TIMEOUT = 10.0


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it on CI, where a missing server is a setup mistake."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _require_binary() -> Path:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        _unavailable(
            "the Redis server binary (redis-server) is not installed; install the Debian "
            "package 'redis-server' (apt-get install redis-server)"
        )
    require_client()
    return Path(found)


def _command(port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command (RESP) and return the first line of the reply."""
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.strip()


class RedisServer:
    """One throwaway Redis server; see the module docstring."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="scopegraph-redis-"))
        self.logfile = self.base / "redis.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _log(self) -> str:
        return self.logfile.read_text() if self.logfile.exists() else ""

    def _spawn(self) -> None:
        argv = [
            str(self.binary),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.base),
            "--logfile",
            str(self.logfile),
            "--daemonize",
            "no",
        ]
        errors = self.base / "stderr.log"
        with errors.open("wb") as stderr:  # the child keeps its own descriptor
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"redis-server on port {self.port} exited ({process.returncode}):\n"
                    f"{errors.read_text()}{self._log()}"
                )
            try:
                if _command(self.port, "PING", timeout=0.5) == b"+PONG":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(
                    f"redis-server on port {self.port} did not answer:\n{self._log()}"
                )
            time.sleep(0.02)
        self._process = process

    def start(self) -> None:
        """Start on a free port; retried if the port was taken meanwhile."""
        for attempt in range(5):
            self.port = free_port()
            try:
                self._spawn()
            except RuntimeError:
                if attempt == 4:
                    raise
                continue
            return

    def stop(self) -> None:
        """Stop the server (its data is lost: nothing is persisted)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STARTUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop the server and start it again on the same port, empty; every client
        connection is dropped."""
        self.stop()
        for attempt in range(20):
            try:
                self._spawn()
            except RuntimeError:  # e.g. the port is still held for a moment
                if attempt == 19:
                    raise
                time.sleep(0.05)
                continue
            return

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def flush(self) -> None:
        """Delete every key of every database."""
        reply = _command(self.port, "FLUSHALL")
        if reply != b"+OK":
            raise RuntimeError(f"FLUSHALL failed: {reply!r}")

    def remove(self) -> None:
        """Stop the server and delete its directory; safe to call twice."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def running_redis_server() -> Iterator[RedisServer]:
    """A server of one's own: started on entry, stopped and deleted on exit."""
    server = RedisServer(_require_binary())
    try:
        server.start()
        yield server
    finally:
        server.remove()


_shared: RedisServer | None = None


def shared_server() -> RedisServer:
    """The server shared by the session, started on first use.

    The ``redis_server`` fixture removes it at the end of the session; otherwise it is
    removed when the interpreter exits.
    """
    global _shared
    if _shared is None:
        server = RedisServer(_require_binary())
        atexit.register(server.remove)
        server.start()
        _shared = server
    return _shared


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The server shared by the session."""
    server = shared_server()
    try:
        yield server
    finally:
        global _shared
        _shared = None
        server.remove()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of database 0 of the shared server, emptied for this test."""
    if not redis_server.running:  # a test stopped it: start it again, empty
        redis_server.restart()
    redis_server.flush()
    return redis_server.url()


def require_client() -> None:
    """Skip (or fail on CI) unless redis-py is installed; for tests without a server."""
    try:
        import redis  # noqa: F401
    except ImportError:
        _unavailable("redis-py is not installed; pip install 'scopegraph[redis]'")
