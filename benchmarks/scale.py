"""``python -m benchmarks.scale [--quick] [--json [PATH]]`` (``make bench-scale``).

The scale-out server against the single-process one, in one run, on this machine:

- **single**: ``scopegraph serve`` with its checkpoints in PostgreSQL (no Redis): the
  runs execute in the API process;
- **cluster, 1 worker**: one API process (``scopegraph serve --redis ... --no-worker``)
  and one ``scopegraph worker --max-runs 1000`` process (like the single process, it
  runs every client's run at once; the default of 100 would queue half of them); runs go
  through the PostgreSQL queue, events through Redis Streams;
- **cluster, 2 workers**: the same with two worker processes.

PostgreSQL is the machine's server (``SCOPEGRAPH_BENCH_PG``, default
``postgresql://postgres@127.0.0.1:5432/test``), in a database created for the run and
dropped after it; Redis is a ``redis-server`` started for the run on a free port (no
persistence). Every client runs in a load-generator process of its own
(:mod:`benchmarks._server_load`): raw HTTP/1.1 ``POST /runs/stream`` requests of the
graph in :mod:`benchmarks.server_graph`.

Phases, for each setup:

1. **runs**: ``runs`` clients at once, each streaming a run of one event (no sleep, no
   cleanup) to its end: runs/s is the completed runs over the phase's wall time;
2. **events**: ``clients`` clients at once, each streaming ``events`` events 10 ms apart:
   events/s over the wall time, and the latency from emission (the node's
   ``time.time()``) to reception (the client's), p50 and p99;
3. **light**: ``light_clients`` clients (10) streaming ``light_events`` events 10 ms
   apart: the latency of an event when the machine is not saturated, i.e. the cost of
   the hops themselves (worker, Redis, API process).

"Added latency" is the cluster's latency minus the single process's. The CPU time of
every process of the setup, of PostgreSQL's and Redis's processes, and of the whole
machine (``/proc``; "machine" is every core's busy time, so 200% is two saturated cores)
shows where the two cores went; the load generator is in "machine" only. The kernel
counts CPU time in 10 ms ticks, so the short phases of ``--quick`` give coarse figures
(even above 200%). The
table is printed; ``--json PATH`` also writes every number.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .server import ROOT, _environment, cpu_seconds, free_port

HERE = Path(__file__).resolve().parent
GRAPH = f"bench={HERE / 'server_graph.py'}:graph"


@dataclasses.dataclass(frozen=True)
class Settings:
    runs: int = 400
    clients: int = 200
    events: int = 50
    interval: float = 0.01
    light_clients: int = 10
    light_events: int = 100
    timeout: float = 120.0


FULL = Settings()
QUICK = Settings(runs=40, clients=20, events=10, light_clients=5, light_events=20, timeout=60.0)


@dataclasses.dataclass
class Setup:
    key: str
    title: str
    workers: int | None
    """None: the single-process server; else the cluster's worker processes."""


SETUPS = (
    Setup("single", "single process", None),
    Setup("cluster1", "cluster, 1 worker", 1),
    Setup("cluster2", "cluster, 2 workers", 2),
)


# -- services ----------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    admin = os.environ.get("SCOPEGRAPH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"scopegraph_bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"benchmarks.scale needs a PostgreSQL server: {exc}; start one, or set "
            "SCOPEGRAPH_BENCH_PG to a connection URL of a role that may create databases"
        ) from None
    p = conninfo_to_dict(admin)
    url = f"postgresql://{p.get('user', 'postgres')}@{p.get('host', '127.0.0.1')}"
    url += f":{p.get('port', 5432)}/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise SystemExit("benchmarks.scale needs redis-server: apt-get install redis-server")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    args += ["no", "--dir", str(tmp), "--logfile", str(tmp / "redis.log")]
    process = subprocess.Popen(args)
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


# -- processes ---------------------------------------------------------------------------


@dataclasses.dataclass
class Running:
    url: str
    port: int
    processes: dict[str, subprocess.Popen[bytes]]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process of the setup, of every ``postgres`` and
        ``redis-server`` process on the machine, and of the whole machine (all cores,
        from ``/proc/stat``)."""
        out = {name: cpu_seconds(p.pid) for name, p in self.processes.items()}
        for service in ("postgres", "redis-server"):
            out[service] = sum(map(_cpu_or_zero, _pids(service)))
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        out["machine"] = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        return out


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:  # it exited meanwhile
        return 0.0


def _pids(command: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == command:
                    pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def start(setup: Setup, db: str, redis: str, tmp: Path) -> Iterator[Running]:
    port = free_port()
    env = {**_environment(), "SCOPEGRAPH_DEMO_CLEANUP": "0"}
    base = [sys.executable, "-m", "scopegraph._cli"]
    commands: dict[str, list[str]] = {}
    serve = [*base, "serve", "--graph", GRAPH, "--db", db, "--port", str(port)]
    serve += ["--log-level", "warning"]
    if setup.workers is None:
        commands["api"] = serve
    else:
        commands["api"] = [*serve, "--redis", redis, "--no-worker"]
        for i in range(setup.workers):
            commands[f"worker{i + 1}"] = [
                *(*base, "worker", "--graph", GRAPH, "--db", db, "--redis", redis),
                *("--worker-id", f"bench-{i + 1}", "--max-runs", "1000"),
            ]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            with (tmp / f"{setup.key}-{name}.log").open("wb") as out:
                processes[name] = subprocess.Popen(
                    command, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT
                )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            for name, p in processes.items():
                if p.poll() is not None:
                    log = (tmp / f"{setup.key}-{name}.log").read_text(errors="replace")
                    raise RuntimeError(f"{setup.title}: {name} exited:\n{log[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{setup.title} did not start")
            time.sleep(0.05)
        yield Running(url, port, processes)
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processes.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def load(running: Running, clients: int, events: int, interval: float, timeout: float) -> Any:
    spec = {
        "phase": "load",
        "host": "127.0.0.1",
        "port": running.port,
        "clients": clients,
        "events": events,
        "storm_events": 0,
        "ready_events": 0,
        "interval": interval,
        "cleanup": 0.0,
        "timeout": timeout,
        "ready_timeout": timeout,
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._server_load", json.dumps(spec)],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        timeout=timeout + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout)


def measure(setup: Setup, settings: Settings, db: str, redis: str, tmp: Path) -> dict[str, Any]:
    print(f"  {setup.title}: starting", end="", file=sys.stderr, flush=True)
    with start(setup, db, redis, tmp) as running:
        load(running, 10, 3, 0.0, settings.timeout)  # warm-up: every code path loaded
        print(", runs", end="", file=sys.stderr, flush=True)
        cpu0 = running.cpu()
        runs = load(running, settings.runs, 1, 0.0, settings.timeout)
        cpu1 = running.cpu()
        print(", events", end="", file=sys.stderr, flush=True)
        events = load(
            running, settings.clients, settings.events, settings.interval, settings.timeout
        )
        cpu2 = running.cpu()
        print(", light", end="", file=sys.stderr, flush=True)
        light = load(running, settings.light_clients, settings.light_events, 0.01, settings.timeout)
    print(", stopped", file=sys.stderr)

    def share(
        before: dict[str, float], after: dict[str, float], seconds: float
    ) -> dict[str, float]:
        return {k: (after[k] - before[k]) / seconds for k in after} if seconds else {}

    return {
        "setup": setup.key,
        "title": setup.title,
        "runs": runs,
        "events": events,
        "light": light,
        "runs_per_second": runs["completed"] / runs["seconds"] if runs["seconds"] else 0.0,
        "events_per_second": events["events"] / events["seconds"] if events["seconds"] else 0.0,
        "cpu_runs": share(cpu0, cpu1, runs["seconds"]),
        "cpu_events": share(cpu1, cpu2, events["seconds"]),
    }


# -- the report --------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: list[dict[str, Any]], settings: Settings) -> str:
    single, one, two = results
    rows: list[list[str]] = []

    def row(title: str, unit: str, get: Any, digits: int = 0, ratio: bool = False) -> None:
        values = [get(r) for r in results]
        cells = [_fmt(v, digits) for v in values]
        scale = f"{values[2] / values[1]:.2f}x" if ratio and values[1] and values[2] else "-"
        rows.append([title, unit, *cells, scale])

    n = settings.runs
    row("runs/s (1-event runs, all at once)", "runs/s", lambda r: r["runs_per_second"], 0, True)
    rows.append(["runs completed", "", *(f"{r['runs']['completed']}/{n}" for r in results), "-"])
    row("events/s", "events/s", lambda r: r["events_per_second"], 0, True)
    row("event latency p50", "ms", lambda r: r["events"]["latency_p50"] * 1000, 1)
    row("event latency p99", "ms", lambda r: r["events"]["latency_p99"] * 1000, 1)
    row(
        "added latency p50 vs single process",
        "ms",
        lambda r: (r["events"]["latency_p50"] - single["events"]["latency_p50"]) * 1000,
        1,
    )
    row(
        "added latency p99 vs single process",
        "ms",
        lambda r: (r["events"]["latency_p99"] - single["events"]["latency_p99"]) * 1000,
        1,
    )
    row("first event p50 (from request)", "ms", lambda r: r["events"]["first_event_p50"] * 1000)
    k = settings.light_clients
    row(
        f"light load ({k} streams): latency p50",
        "ms",
        lambda r: r["light"]["latency_p50"] * 1000,
        2,
    )
    row(
        f"light load ({k} streams): latency p99",
        "ms",
        lambda r: r["light"]["latency_p99"] * 1000,
        2,
    )
    row(
        "light load: added latency p50 vs single process",
        "ms",
        lambda r: (r["light"]["latency_p50"] - single["light"]["latency_p50"]) * 1000,
        2,
    )
    m = settings.clients
    rows.append(
        ["streams with every event", "", *(f"{r['events']['completed']}/{m}" for r in results), "-"]
    )
    for phase in ("runs", "events"):
        rows.append(
            [
                f"CPU during '{phase}' (% of a core)",
                "%",
                *(
                    ", ".join(f"{k} {100 * v:.0f}" for k, v in r[f"cpu_{phase}"].items())
                    for r in results
                ),
                "-",
            ]
        )
    head = [
        f"| measurement | unit | {single['title']} | {one['title']} | {two['title']} "
        "| 2 workers / 1 |",
        "|---|---|--:|--:|--:|--:|",
    ]
    return "\n".join([*head, *(f"| {' | '.join(r)} |" for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"scale-out vs single process: {settings.runs} one-event runs; {settings.clients} "
        f"streams of {settings.events} events {settings.interval * 1000:g} ms apart; "
        f"{os.cpu_count()} CPUs, load average {load_avg} at the start",
        file=sys.stderr,
    )
    with (
        tempfile.TemporaryDirectory(prefix="scopegraph-bench-scale-") as tmp_name,
        postgres_database() as db,
        redis_server(Path(tmp_name)) as redis,
    ):
        tmp = Path(tmp_name)
        results = [measure(setup, settings, db, redis, tmp) for setup in SETUPS]
    if args.json == "-":
        print(json.dumps(results, indent=2))
        return 0
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(table(results, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
