"""Scale-out across processes: ``scopegraph worker`` processes on a throwaway PostgreSQL
(queue and checkpoints) and Redis (events).

A worker is killed with SIGKILL in the middle of a run's second step. Another worker
takes the run over once the lease expires, resumes it from its last checkpoint (the first
step is not run again; the step in flight is), and finishes it. A reader that follows the
run's Redis stream sees a ``metadata`` event with ``attempt: 2`` and then the continued
output, with no gap in the stream ids.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from psycopg.conninfo import conninfo_to_dict

import _pg
import _redis
from scopegraph.checkpoint import PostgresSaver
from scopegraph.server._pg_queue import RunQueue
from scopegraph.server.cluster._redis_events import RedisEventLog

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

GRAPH = Path(__file__).with_name("_scale_graph.py")


def as_url(dsn: str) -> str:
    p = conninfo_to_dict(dsn)
    return f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"


@contextlib.contextmanager
def worker_process(
    worker_id: str, db: str, redis: str, log: Path, out: Path
) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "SCOPEGRAPH_SCALE_LOG": str(log)}
    args = [sys.executable, "-m", "scopegraph._cli", "worker", "--graph", f"chain={GRAPH}:graph"]
    args += ["--db", db, "--redis", redis, "--worker-id", worker_id, "--lease", "1.0"]
    with out.open("wb") as f:
        process = subprocess.Popen(args, env=env, stdout=f, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_a_killed_worker_s_run_is_resumed_by_another(
    anyio_backend: str, pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    db = as_url(pg_dsn)
    log = tmp_path / "nodes.log"
    run_id = "scale-run-1"
    thread_id = "scale-thread-1"
    events: list[tuple[str, str, Any]] = []
    async with RunQueue(db) as queue, RedisEventLog(redis_url) as stream_log:
        with worker_process("A", db, redis_url, log, tmp_path / "a.log") as a:
            await queue.enqueue(
                {
                    "run_id": run_id,
                    "graph_id": "chain",
                    "input": {"done": []},
                    "stream_mode": ["custom"],
                },
                thread_id=thread_id,
                multitask_strategy="enqueue",
            )
            with anyio.fail_after(60):
                async with contextlib.aclosing(stream_log.follow(run_id, block_ms=200)) as s:
                    async for event_id, event, data in s:
                        events.append((event_id, event, orjson.loads(data)))
                        if event == "custom" and events[-1][2] == {"node": "n2", "i": 1}:
                            break
            row = await queue.get(run_id)
            assert row is not None
            assert row["owner"] == "A"
            a.send_signal(signal.SIGKILL)  # mid-step 2
            a.wait(20)
        with worker_process("B", db, redis_url, log, tmp_path / "b.log"):
            with anyio.fail_after(60):
                after = events[-1][0]
                async with contextlib.aclosing(stream_log.follow(run_id, after, block_ms=200)) as s:
                    async for event_id, event, data in s:
                        events.append((event_id, event, orjson.loads(data)))
            row = await queue.get(run_id)
            assert row is not None
            assert (row["status"], row["owner"], row["attempt"]) == ("success", "B", 2)
    # The stream: attempt 1's events, then attempt 2's metadata and the rest, no gap.
    numbers = [int(e[0].split("-")[1]) for e in events]
    assert numbers == list(range(1, len(numbers) + 1))
    kinds = [(e[1], e[2]) for e in events]
    resumed = kinds.index(("metadata", {"run_id": run_id, "attempt": 2}))
    assert kinds[0] == ("metadata", {"run_id": run_id, "attempt": 1})
    assert [d["node"] for k, d in kinds[resumed + 1 : -1]] == ["n2"] * 5 + ["n3"] * 5 + ["n4"] * 5
    assert kinds[-1] == ("end", None)
    # n1 ran once (its step was checkpointed); n2 twice (in flight when A died).
    starts = [line.split()[1] for line in log.read_text().splitlines()]
    assert starts == ["n1", "n2", "n2", "n3", "n4"]
    # The thread's state is complete, as if the run had not been interrupted.
    import _scale_graph

    async with PostgresSaver(db) as saver:
        _scale_graph.graph.checkpointer = saver
        state = await _scale_graph.graph.aget_state({"configurable": {"thread_id": thread_id}})
    assert state.values["done"] == ["n1", "n2", "n3", "n4"]
