"""The load generator of ``python -m benchmarks.server``: many SSE clients in one process.

``python -m benchmarks._server_load SPEC_JSON`` runs one phase against one server and
prints its numbers as one JSON object on stdout. It runs in a process of its own, so that
it has a core of its own: the server under test gets the other one.

The clients are raw asyncio protocols, not an HTTP library: each sends one
``POST /runs/stream`` (HTTP/1.1), then parses the chunked body and the Server-Sent
Events in it with a few bytes operations per read, so that a thousand streams cost the
generator far less than they cost the server. Each ``custom`` event carries the server's
``time.time()`` at emission (``{"i": ..., "ts": ...}``); the client subtracts it from its
own ``time.time()`` at the read that delivered the event (one clock: same machine).

Phases (``SPEC["phase"]``):

- ``load``: every client streams ``events`` events to the end of the response; the
  numbers are events received, latencies, time to the first event and the wall time.
- ``storm``: every client streams until it has received ``ready_events`` events; once all
  have (or ``ready_timeout`` passed), every socket is closed at once (``t_drop``).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from typing import Any

import orjson

__all__ = ("main", "percentile", "raise_fd_limit", "run_phase")


def raise_fd_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 16)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values`` by the nearest rank; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[rank]


class _Phase:
    """What every client of one phase shares: the counters and the latencies."""

    def __init__(self, clients: int, ready_events: int | None, keep_latencies: bool) -> None:
        self.clients = clients
        self.ready_events = ready_events
        self.keep_latencies = keep_latencies
        self.latencies: list[float] = []
        self.first_event: list[float] = []
        self.events = 0
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.errors: list[str] = []

    def error(self, message: str) -> None:
        if len(self.errors) < 5:
            self.errors.append(message)


class _Client(asyncio.Protocol):
    """One SSE client: one request, its chunked response body, its events."""

    def __init__(self, phase: _Phase, request: bytes) -> None:
        self.phase = phase
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        self.sent_at = 0.0
        self.head = b""  # the response head, until it is complete
        self.in_body = False
        self.chunked = True
        self.raw = b""  # the body bytes not yet de-chunked
        self.left = 0  # bytes left in the current chunk
        self.skip = 0  # bytes of the CRLF after a chunk still to skip
        self.sse = b""  # the de-chunked text of an event not yet complete
        self.events = 0
        self.ended = False  # the response's last chunk arrived
        self.ready = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sent_at = time.time()
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end], self.head[end + 4 :]
            self.head = b""
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                self.phase.error(f"{status.decode(errors='replace')}: {data[:200]!r}")
                self.close()
                return
            self.chunked = b"transfer-encoding: chunked" in head.lower()
            self.in_body = True
        if self.chunked:
            data = self._dechunk(data)
        if data:
            self._events(data, now)
        if self.ended:
            self.close()

    def _dechunk(self, data: bytes) -> bytes:
        raw = self.raw + data if self.raw else data
        out = []
        pos, size = 0, len(raw)
        while pos < size:
            if self.skip:
                step = min(self.skip, size - pos)
                pos += step
                self.skip -= step
            elif self.left:
                step = min(self.left, size - pos)
                out.append(raw[pos : pos + step])
                pos += step
                self.left -= step
                if not self.left:
                    self.skip = 2
            else:
                eol = raw.find(b"\r\n", pos)
                if eol < 0:
                    break
                length = int(raw[pos:eol].split(b";", 1)[0], 16)
                pos = eol + 2
                if length == 0:
                    self.ended = True
                    break
                self.left = length
        self.raw = raw[pos:]
        return b"".join(out)

    def _events(self, data: bytes, now: float) -> None:
        text = self.sse + data if self.sse else data
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n")
        end = text.rfind(b"\n\n")
        if end < 0:
            self.sse = text
            return
        self.sse = text[end + 2 :]
        phase = self.phase
        for block in text[:end].split(b"\n\n"):
            event = b"message"
            payload = b""
            for line in block.split(b"\n"):
                if line.startswith(b"event: "):
                    event = line[7:]
                elif line.startswith(b"data: "):
                    payload = line[6:]
            if event == b"custom":
                if not self.events:
                    phase.first_event.append(now - self.sent_at)
                self.events += 1
                phase.events += 1
                if phase.keep_latencies:
                    phase.latencies.append(now - orjson.loads(payload)["ts"])
            elif event == b"error":
                phase.error(f"error event: {payload[:200]!r}")
        if phase.ready_events is not None and not self.ready and self.events >= phase.ready_events:
            self.ready = True
            phase.ready += 1
            if phase.ready >= phase.clients:
                phase.all_ready.set()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def _request(host: str, port: int, body: dict[str, Any]) -> bytes:
    payload = orjson.dumps(body)
    head = (
        f"POST /runs/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def run_phase(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one phase (see the module docstring); its numbers."""
    loop = asyncio.get_running_loop()
    host, port = spec["host"], int(spec["port"])
    clients = int(spec["clients"])
    storm = spec["phase"] == "storm"
    phase = _Phase(clients, int(spec["ready_events"]) if storm else None, not storm)
    events = int(spec["storm_events"] if storm else spec["events"])
    protocols = [
        _Client(
            phase,
            _request(
                host,
                port,
                {
                    "assistant_id": "bench",
                    "input": {
                        "id": f"{spec['phase']}-{i}",
                        "events": events,
                        "interval": float(spec["interval"]),
                        "cleanup": float(spec["cleanup"]),
                    },
                    "stream_mode": "custom",
                    "on_disconnect": "cancel",
                },
            ),
        )
        for i in range(clients)
    ]

    async def connect(client: _Client) -> bool:
        try:
            await loop.create_connection(lambda: client, host, port)
        except OSError as exc:
            phase.error(f"connect: {exc}")
            if not client.closed.done():
                client.closed.set_result(None)
            return False
        return True

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = cpu.ru_utime + cpu.ru_stime
    t_start = time.time()
    connected = sum(await asyncio.gather(*(connect(c) for c in protocols)))
    result: dict[str, Any] = {"phase": spec["phase"], "clients": clients, "connected": connected}
    if storm:
        try:
            await asyncio.wait_for(phase.all_ready.wait(), float(spec["ready_timeout"]))
        except TimeoutError:
            pass
        result["ready"] = phase.ready
        result["t_drop"] = time.time()
        for client in protocols:  # every client goes away at once
            client.close()
        await asyncio.wait([c.closed for c in protocols], timeout=5)
        t_end = result["t_drop"]
    else:
        _, pending = await asyncio.wait(
            [c.closed for c in protocols], timeout=float(spec["timeout"])
        )
        t_end = time.time()
        for client in protocols:
            if not client.closed.done() and client.transport is not None:
                client.transport.abort()
        result["timed_out"] = len(pending)
        result["completed"] = sum(1 for c in protocols if c.ended and c.events == events)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        t_start=t_start,
        t_end=t_end,
        seconds=t_end - t_start,
        events=phase.events,
        cpu_seconds=cpu.ru_utime + cpu.ru_stime - cpu_start,
        latency_p50=percentile(phase.latencies, 0.50),
        latency_p99=percentile(phase.latencies, 0.99),
        latency_max=max(phase.latencies, default=None),
        first_event_p50=percentile(phase.first_event, 0.50),
        first_event_p99=percentile(phase.first_event, 0.99),
        errors=phase.errors,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks._server_load SPEC_JSON", file=sys.stderr)
        return 2
    raise_fd_limit()
    result = asyncio.run(run_phase(orjson.loads(args[0])))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
