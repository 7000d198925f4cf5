"""``python -m benchmarks.server [--quick] [--clients N] [--events K] [--interval S]
[--cleanup S] [--seed-stream astream|astream_events] [--json [PATH]]`` (``make bench-server``).

A load benchmark of the run server on loopback, side by side in one run:

- **scopegraph**: ``scopegraph serve`` (a subprocess, SQLite database in a temporary
  directory) serving :mod:`benchmarks.server_graph` as ``bench``;
- **LangGraph**: :mod:`benchmarks.seed_app`, the FastAPI + sse-starlette app of the
  original report around a LangGraph graph with the same node, served by uvicorn (a
  subprocess).

Every client sends ``POST /runs/stream`` with ``{"assistant_id": "bench", "input": {...},
"stream_mode": "custom", "on_disconnect": "cancel"}`` and reads the custom events; the
clients run in a load-generator process of their own (:mod:`benchmarks._server_load`).
For each server, one after the other:

1. **load**: ``--clients`` clients at once, each streaming a run of ``--events`` events
   (``--interval`` seconds apart, so the server is saturated) to its end. Events/s is
   every event received over the phase's wall time (first connect to last stream end);
   the latency is the client's ``time.time()`` at reception minus the server's at
   emission, over every event; the time to the first event is from the request.
2. **disconnect storm**: ``--clients`` clients stream endless runs (a million events);
   once each has had 3 events, every socket is closed at once. Then the node's log (the
   file in ``SCOPEGRAPH_CLEANUP_LOG``) is read until every run's shielded cleanup is done,
   nothing has changed for ``cleanup + 3`` seconds, or a time cap passed. "Still running"
   counts runs whose node started but never began its cleanup: runs the disconnect did
   not cancel.
3. **memory**: the server's RSS (``VmRSS`` of ``/proc/<pid>/status``) before the load
   (after one warm-up request), its peak (sampled every 20 ms through both phases), and
   one second after the storm settled.

The server's CPU time (``/proc/<pid>/stat``) over each phase shows whether it was
saturated; the load generator's own CPU time shows that it was not the bottleneck. Linux
only (``/proc``). ``--quick`` is a smoke-sized run (100 clients, 20 events). The whole
run is bounded: each phase has a time cap, and the full run takes one to two minutes.

The table's ratio is over 1 where scopegraph is better: scopegraph's number over
LangGraph's (sg/lg) where more is better, LangGraph's over scopegraph's (lg/sg) where less
is. ``--json PATH`` also writes every number (per phase, per server) to PATH; ``--json``
alone prints that JSON instead of the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from ._server_load import raise_fd_limit

__all__ = ("FULL", "QUICK", "Settings", "main", "markdown_table", "measure_server")

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Settings:
    clients: int
    events: int
    """Events per run in the load phase."""
    interval: float
    """Seconds the node sleeps after each event."""
    cleanup: float
    """Seconds of the node's shielded cleanup."""
    ready_events: int = 3
    """Events each storm client reads before the drop."""
    storm_events: int = 1_000_000
    """Events per run in the storm: more than any run lives to emit."""
    load_timeout: float = 60.0
    ready_timeout: float = 30.0
    settle_timeout: float = 15.0
    """Seconds after the drop to wait for the cleanups at most."""
    seed_stream: str = "astream"
    """How the seed app streams: ``astream`` (stream_mode="custom") or ``astream_events``
    (the report's exact API); see :mod:`benchmarks.seed_app`."""


FULL = Settings(clients=1000, events=50, interval=0.01, cleanup=0.5)
QUICK = Settings(
    clients=100,
    events=20,
    interval=0.01,
    cleanup=0.2,
    load_timeout=30.0,
    ready_timeout=15.0,
    settle_timeout=8.0,
)


@dataclasses.dataclass(frozen=True)
class Target:
    key: str
    title: str
    command: Callable[[int, Path], list[str]]


def _scopegraph_command(port: int, tmp: Path) -> list[str]:
    graph = f"bench={HERE / 'server_graph.py'}:graph"
    return [
        *(sys.executable, "-m", "scopegraph._cli", "serve", "--graph", graph),
        *("--db", str(tmp / "scopegraph.db"), "--port", str(port), "--log-level", "warning"),
    ]


def _langgraph_command(port: int, tmp: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "benchmarks.seed_app:app", "--app-dir", str(ROOT)),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ]


TARGETS = (
    Target("scopegraph", "scopegraph serve", _scopegraph_command),
    Target("langgraph", "LangGraph + FastAPI (seed app)", _langgraph_command),
)


# -- the server process -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """The process's resident set size in MB (10^6 bytes), from ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _PeakRss(threading.Thread):
    """Samples a process's RSS every 20 ms until stopped; the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_mb(pid)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.02):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, RuntimeError):
                return

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak


@dataclasses.dataclass
class _Server:
    target: Target
    process: subprocess.Popen[bytes]
    port: int
    url: str
    cleanup_log: Path
    output: Path

    def log(self) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return text[-4000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _environment() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _start(target: Target, tmp: Path, settings: Settings) -> _Server:
    port = free_port()
    cleanup_log = tmp / f"{target.key}-cleanup.log"
    output = tmp / f"{target.key}-server.log"
    env = {
        **_environment(),
        "SEED_STREAM": settings.seed_stream,
        "SCOPEGRAPH_CLEANUP_LOG": str(cleanup_log),
        "SCOPEGRAPH_DEMO_INTERVAL": str(settings.interval),
        "SCOPEGRAPH_DEMO_CLEANUP": str(settings.cleanup),
    }
    with output.open("wb") as out:
        process = subprocess.Popen(
            target.command(port, tmp), cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = _Server(target, process, port, f"http://127.0.0.1:{port}", cleanup_log, output)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{target.title} exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/ok", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{target.title} did not start:\n{server.log()}")
        time.sleep(0.05)


def _warm_up(server: _Server) -> None:
    """One short run to its end, so that the baseline has every code path loaded."""
    body = {
        "assistant_id": "bench",
        "input": {"id": "warmup-0", "events": 3, "interval": 0.001, "cleanup": 0.0},
        "stream_mode": "custom",
        "on_disconnect": "cancel",
    }
    with httpx.stream("POST", f"{server.url}/runs/stream", json=body, timeout=30) as response:
        response.raise_for_status()
        for _ in response.iter_bytes():
            pass


# -- the phases ---------------------------------------------------------------------------


def _load_generator(server: _Server, phase: str, settings: Settings) -> dict[str, Any]:
    spec = {
        "phase": phase,
        "host": "127.0.0.1",
        "port": server.port,
        "clients": settings.clients,
        "events": settings.events,
        "storm_events": settings.storm_events,
        "ready_events": settings.ready_events,
        "interval": settings.interval,
        "cleanup": settings.cleanup,
        "timeout": settings.load_timeout,
        "ready_timeout": settings.ready_timeout,
    }
    cap = settings.load_timeout + settings.ready_timeout + 60
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._server_load", json.dumps(spec)],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        timeout=cap,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the load generator failed ({phase}, {server.target.title}):\n"
            f"{done.stderr.decode(errors='replace')[-4000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def count_lines(log: Path, prefix: str) -> dict[str, int]:
    """Per kind of line (``start``, ``cleanup-start``, ``cleanup-done``), how many runs
    whose id starts with ``prefix`` have one."""
    seen: dict[str, set[str]] = {"start": set(), "cleanup-start": set(), "cleanup-done": set()}
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] in seen and parts[2].startswith(prefix):
                seen[parts[0]].add(parts[2])
    return {kind: len(ids) for kind, ids in seen.items()}


def _settle(server: _Server, settings: Settings, t_drop: float) -> tuple[dict[str, int], float]:
    """Wait for the storm's cleanups: all done, nothing changing for ``cleanup + 3`` s, or
    ``settle_timeout`` after the drop. The counts, and when the last cleanup was done
    (seconds after the drop; NaN if not all were)."""
    quiet = settings.cleanup + 3.0
    counts = count_lines(server.cleanup_log, "storm-")
    changed = time.time()
    while True:
        now = time.time()
        if counts["cleanup-done"] >= settings.clients:
            return counts, now - t_drop
        if now - changed > quiet or now - t_drop > settings.settle_timeout:
            return counts, float("nan")
        time.sleep(0.05)
        latest = count_lines(server.cleanup_log, "storm-")
        if latest != counts:
            counts, changed = latest, time.time()


def measure_server(target: Target, settings: Settings, tmp: Path) -> dict[str, Any]:
    """Both phases against one server; its numbers (see the module docstring)."""
    print(f"  {target.title}: starting", end="", file=sys.stderr, flush=True)
    server = _start(target, tmp, settings)
    pid = server.process.pid
    try:
        _warm_up(server)
        time.sleep(0.5)
        baseline = rss_mb(pid)
        sampler = _PeakRss(pid)
        sampler.start()

        print(", load", end="", file=sys.stderr, flush=True)
        cpu0 = cpu_seconds(pid)
        load = _load_generator(server, "load", settings)
        cpu1 = cpu_seconds(pid)

        print(", disconnect storm", end="", file=sys.stderr, flush=True)
        storm = _load_generator(server, "storm", settings)
        cpu2, t2 = cpu_seconds(pid), time.time()
        counts, all_done_after = _settle(server, settings, storm["t_drop"])
        cpu3, t3 = cpu_seconds(pid), time.time()
        time.sleep(1.0)
        after = rss_mb(pid)
        peak = sampler.stop()
        alive = server.process.poll() is None
    finally:
        status = server.stop()
    print(f", stopped ({status})", file=sys.stderr)
    at_exit = count_lines(server.cleanup_log, "storm-")
    return {
        "target": target.key,
        "title": target.title,
        "load": load,
        "storm": storm,
        "events_per_second": load["events"] / load["seconds"] if load["seconds"] else 0.0,
        "server_cpu_load": (cpu1 - cpu0) / load["seconds"] if load["seconds"] else 0.0,
        "server_cpu_per_event": (cpu1 - cpu0) / load["events"] if load["events"] else None,
        "client_cpu_load": load["cpu_seconds"] / load["seconds"] if load["seconds"] else 0.0,
        "cleanups": counts,
        "cleanups_all_done_after": None if all_done_after != all_done_after else all_done_after,
        "settle_seconds": t3 - storm["t_drop"],
        "server_cpu_after_drop": (cpu3 - cpu2) / (t3 - t2) if t3 > t2 else 0.0,
        "still_running": counts["start"] - counts["cleanup-start"],
        "cleanups_done_at_exit": at_exit["cleanup-done"],
        "rss_baseline_mb": baseline,
        "rss_peak_mb": peak,
        "rss_after_mb": after,
        "server_alive_after_storm": alive,
        "exit_status": status,
    }


# -- the report ---------------------------------------------------------------------------


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(sg: float | None, lg: float | None, higher_is_better: bool) -> str:
    if sg is None or lg is None or sg != sg or lg != lg or not sg or not lg:
        return "-"
    value, label = (sg / lg, "sg/lg") if higher_is_better else (lg / sg, "lg/sg")
    return f"{value:.2f}x ({label})" if value < 10 else f"{value:.0f}x ({label})"


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def _us(value: float | None) -> float | None:
    return None if value is None else value * 1e6


def markdown_table(results: Sequence[dict[str, Any]], settings: Settings) -> str:
    """scopegraph and LangGraph side by side; a ratio over 1 is scopegraph's advantage."""
    sg, lg = results
    n = settings.clients
    rows: list[tuple[str, str, str, str, str]] = []

    def number(
        title: str,
        unit: str,
        get: Callable[[dict[str, Any]], Any],
        digits: int = 0,
        higher_is_better: bool | None = None,
    ) -> None:
        a, b = get(sg), get(lg)
        ratio = "-" if higher_is_better is None else _ratio(a, b, higher_is_better)
        rows.append((title, unit, _number(a, digits), _number(b, digits), ratio))

    def text(title: str, get: Callable[[dict[str, Any]], str]) -> None:
        rows.append((title, "", get(sg), get(lg), "-"))

    number("load: events/s, all clients", "events/s", lambda r: r["events_per_second"], 0, True)
    number(
        "load: latency p50 (emit to receive)",
        "ms",
        lambda r: _ms(r["load"]["latency_p50"]),
        1,
        False,
    )
    number("load: latency p99", "ms", lambda r: _ms(r["load"]["latency_p99"]), 1, False)
    number(
        "load: first event p50 (from request)",
        "ms",
        lambda r: _ms(r["load"]["first_event_p50"]),
        0,
        False,
    )
    number("load: first event p99", "ms", lambda r: _ms(r["load"]["first_event_p99"]), 0, False)
    text("load: clients that got every event", lambda r: f"{r['load']['completed']}/{n}")
    number("load: server CPU", "% of a core", lambda r: 100 * r["server_cpu_load"], 0)
    number(
        "load: server CPU per event (incl. run setup)",
        "µs",
        lambda r: _us(r["server_cpu_per_event"]),
        0,
        False,
    )
    number("load: load-generator CPU", "% of a core", lambda r: 100 * r["client_cpu_load"], 0)
    text("storm: clients streaming at the drop", lambda r: f"{r['storm']['ready']}/{n}")
    text("storm: node cleanups done", lambda r: f"**{r['cleanups']['cleanup-done']}/{n}**")
    text("storm: node cleanups started", lambda r: f"{r['cleanups']['cleanup-start']}/{n}")
    text("storm: runs still running (never cancelled)", lambda r: f"{r['still_running']}/{n}")
    number("storm: every cleanup done after", "s", lambda r: r["cleanups_all_done_after"], 2)
    number("storm: cleanup log watched for", "s", lambda r: r["settle_seconds"], 1)
    number(
        "storm: server CPU after the drop",
        "% of a core",
        lambda r: 100 * r["server_cpu_after_drop"],
    )
    number("RSS before the load", "MB", lambda r: r["rss_baseline_mb"], 1, False)
    number("RSS peak (load + storm)", "MB", lambda r: r["rss_peak_mb"], 1, False)
    number("RSS after the storm settled", "MB", lambda r: r["rss_after_mb"], 1, False)
    number("RSS after - before", "MB", lambda r: r["rss_after_mb"] - r["rss_baseline_mb"], 1)
    lines = [
        f"| measurement | unit | {sg['title']} | {lg['title']} | ratio |",
        "|---|---|--:|--:|--:|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    return "\n".join(lines)


def _header(settings: Settings) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"scopegraph {version('scopegraph')} vs LangGraph {version('langgraph')}: "
        f"{settings.clients} clients, {settings.events} events/run "
        f"{settings.interval * 1000:g} ms apart, {settings.cleanup:g} s shielded cleanup, "
        f"seed app on {settings.seed_stream}; "
        f"{os.cpu_count()} CPUs, load average {load} at the start"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.server",
        description="Load-test scopegraph serve against the LangGraph + FastAPI seed app.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run (100 clients)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 1000)")
    parser.add_argument("--events", type=int, help="events per run in the load phase (50)")
    parser.add_argument("--interval", type=float, help="seconds between two events (0.01)")
    parser.add_argument("--cleanup", type=float, help="seconds of shielded cleanup (0.5)")
    parser.add_argument(
        "--seed-stream",
        choices=("astream", "astream_events"),
        help="how the LangGraph app streams (default astream; astream_events is the report's)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the numbers as JSON to PATH; with no PATH, print JSON instead of the table",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = QUICK if args.quick else FULL
    changes = {
        name: value
        for name in ("clients", "events", "interval", "cleanup", "seed_stream")
        if (value := getattr(args, name)) is not None
    }
    settings = dataclasses.replace(settings, **changes)
    limit = raise_fd_limit()
    if limit < 2 * settings.clients + 100:
        print(f"warning: only {limit} open files allowed", file=sys.stderr)
    header = _header(settings)
    print(header, file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="scopegraph-bench-server-") as tmp:
        results = [measure_server(target, settings, Path(tmp)) for target in TARGETS]
    table = markdown_table(results, settings)
    doc = {
        "header": header,
        "settings": dataclasses.asdict(settings),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "results": results,
    }
    if args.json == "-":
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    print(header + "\n")
    print(table)
    if args.json is not None:
        Path(args.json).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
