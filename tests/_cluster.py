"""A scale-out cluster of real processes on loopback, for the multi-process tests.

``with running_cluster(tmp_path, db, redis) as cluster:`` starts ``apis`` API processes
(``scopegraph serve --redis ... --no-worker``) and ``workers`` worker processes
(``scopegraph worker``), all on the given PostgreSQL database and Redis, and returns once
every API answers ``GET /ok`` and every worker's cancel listener is connected (seen in
``pg_stat_activity``). Worker ``W3`` runs on trio (``SCOPEGRAPH_BACKEND=trio``), the others
on asyncio, unless ``worker_backend`` says otherwise. On exit every process gets SIGTERM
and must exit 0 (a killed one is skipped).

Graphs: ``agent`` and ``approval`` of ``examples/server_graph.py`` (cleanups logged to
``cluster.cleanup_log``) and ``chain`` of ``tests/_scale_graph.py`` (node starts logged to
``cluster.node_log`` with the worker's pid).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from _server import EXAMPLE, free_port

SCALE_GRAPH = Path(__file__).with_name("_scale_graph.py")
GRAPHS = (f"agent={EXAMPLE}:graph", f"approval={EXAMPLE}:approval", f"chain={SCALE_GRAPH}:graph")


def as_url(dsn: str) -> str:
    """A libpq key=value DSN as a postgresql:// URL (what the command line takes)."""
    p = conninfo_to_dict(dsn)
    return f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"


@dataclasses.dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    output: Path

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


@dataclasses.dataclass
class Cluster:
    db: str
    redis: str
    apis: list[str]
    processes: dict[str, Process]
    cleanup_log: Path
    node_log: Path

    def cleanups(self, run_id: str) -> list[str]:
        """This run's cleanup log lines, ``cleanup-start|cleanup-done <node>``."""
        if not self.cleanup_log.exists():
            return []
        lines = [line.split() for line in self.cleanup_log.read_text().splitlines()]
        return [f"{kind} {node}" for kind, node, rid in lines if rid == run_id]

    def node_starts(self) -> list[tuple[str, int]]:
        """(node, pid) of each node start of the ``chain`` graph."""
        if not self.node_log.exists():
            return []
        lines = [line.split() for line in self.node_log.read_text().splitlines()]
        return [(node, int(pid)) for _, node, pid in lines]

    def terminate(self, name: str) -> int:
        """SIGTERM, as a deployment stopping a process; its exit status."""
        proc = self.processes[name].process
        proc.send_signal(signal.SIGTERM)
        return proc.wait(30)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash: no cleanup, no goodbye."""
        proc = self.processes[name].process
        proc.send_signal(signal.SIGKILL)
        proc.wait(20)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in self.processes.values())


def listeners(db: str) -> int:
    """Connections LISTENing for cancel requests: one per running worker."""
    with psycopg.connect(db, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'scopegraph-queue-listener' AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def running_cluster(
    tmp_path: Path,
    db: str,
    redis: str,
    *,
    apis: int = 2,
    workers: int = 3,
    lease: float = 1.0,
    interval: float = 0.05,
    cleanup: float = 0.2,
    worker_backend: str = "mixed",
    grace: float = 5.0,
    extra_graphs: Sequence[str] = (),
    api_args: Sequence[str] = (),
) -> Iterator[Cluster]:
    """``worker_backend``: ``"mixed"`` (W3 on trio, the others on asyncio), or
    ``"asyncio"`` / ``"trio"`` for every worker. ``extra_graphs``: more
    ``NAME=FILE.py:GRAPH`` for every process. ``api_args``: more arguments of each API
    process's ``scopegraph serve``."""
    db = as_url(db) if "://" not in db else db
    cleanup_log = tmp_path / "cleanup.log"
    node_log = tmp_path / "nodes.log"
    env = {
        **os.environ,
        "SCOPEGRAPH_CLEANUP_LOG": str(cleanup_log),
        "SCOPEGRAPH_SCALE_LOG": str(node_log),
        "SCOPEGRAPH_DEMO_INTERVAL": str(interval),
        "SCOPEGRAPH_DEMO_CLEANUP": str(cleanup),
    }
    graph_args = [arg for spec in (*GRAPHS, *extra_graphs) for arg in ("--graph", spec)]
    base = [sys.executable, "-m", "scopegraph._cli"]
    processes: dict[str, Process] = {}
    urls: list[str] = []

    def start(name: str, args: list[str], extra: dict[str, str] | None = None) -> None:
        output = tmp_path / f"{name}.log"
        with output.open("wb") as out:
            process = subprocess.Popen(
                args,
                cwd=tmp_path,
                env={**env, **(extra or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes[name] = Process(name, process, output)

    cluster = Cluster(db, redis, urls, processes, cleanup_log, node_log)
    try:
        for i in range(workers):
            name = f"W{i + 1}"
            args = [*base, "worker", *graph_args, "--db", db, "--redis", redis]
            args += ["--worker-id", name, "--lease", str(lease), "--grace", str(grace)]
            backend = worker_backend
            if backend == "mixed":
                backend = "trio" if name == "W3" else "asyncio"
            start(name, args, {"SCOPEGRAPH_BACKEND": backend})
        for i in range(apis):
            port = free_port()
            args = [*base, "serve", *graph_args, "--db", db, "--redis", redis, "--no-worker"]
            args += ["--port", str(port), "--log-level", "warning", "--grace", "5", *api_args]
            start(f"API{i + 1}", args)
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        pending = set(urls)
        while pending or listeners(db) < workers:
            for p in processes.values():
                if p.process.poll() is not None:
                    raise AssertionError(f"{p.name} exited:\n{cluster.logs()}")
            for url in list(pending):
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        pending.discard(url)
            if time.monotonic() > deadline:
                raise AssertionError(f"the cluster did not start:\n{cluster.logs()}")
            time.sleep(0.05)
        yield cluster
    finally:
        for p in processes.values():
            if p.process.poll() is None:
                p.process.send_signal(signal.SIGTERM)
        failures = []
        for p in processes.values():
            try:
                status = p.process.wait(30)
            except subprocess.TimeoutExpired:
                p.process.kill()
                p.process.wait()
                failures.append(f"{p.name} did not stop on SIGTERM")
                continue
            if status not in (0, -signal.SIGKILL):
                failures.append(f"{p.name} exited with {status}")
        assert not failures, f"{failures}:\n{cluster.logs()}"
