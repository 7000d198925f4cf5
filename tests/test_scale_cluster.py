"""The scale-out server as users run it: 2 API processes (``scopegraph serve --redis ...
--no-worker``) and 3 worker processes (``scopegraph worker``) on a throwaway PostgreSQL and
Redis, driven only through the official LangGraph SDK client.

Every test talks to both API processes: what one accepts, the other streams, joins or
cancels. Cleanup is observed in the log the example graph writes from inside its shielded
``finally:`` (``cleanup-start`` / ``cleanup-done`` per node and run). Waiting across
processes is done by reading the stream (events are ordered) or by polling an API with a
bounded number of tries; nothing sleeps a fixed time to let something happen.

The SDK client is asyncio-only, so these tests run on asyncio; the worker processes run on
asyncio and on trio (``worker_backend``; the default cluster has one trio worker).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError, NotFoundError

import _pg
import _redis
from _cluster import Cluster, as_url, listeners, running_cluster
from _server import EXAMPLE, free_port

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

ID = re.compile(r"^(\d+)-(\d+)$")
CHAIN = ["n1", "n2", "n3", "n4"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the LangGraph SDK client; the workers run on both backends


@contextlib.asynccontextmanager
async def clients(cluster: Cluster) -> AsyncIterator[tuple[Any, Any]]:
    """SDK clients of API process 1 and API process 2 (typed Any: the runs carry
    scopegraph's ``attempt`` and ``worker``, unknown to the SDK's types)."""
    a, b = get_client(url=cluster.apis[0]), get_client(url=cluster.apis[1])
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


async def eventually(
    check: Callable[[], Awaitable[Any]], what: str, *, tries: int = 200, pause: float = 0.1
) -> Any:
    """Poll ``check`` (bounded: ``tries`` times) until it returns something truthy."""
    for _ in range(tries):
        try:
            result = await check()
        except Exception:  # an API process may be between connections to a restarted service
            result = None
        if result:
            return result
        await anyio.sleep(pause)
    raise AssertionError(f"timed out waiting for {what}")


def numbers(parts: list[Any]) -> list[int]:
    out = []
    for part in parts:
        match = ID.match(part.id or "")
        assert match, f"event {part.event} has no <epoch>-<n> id: {part.id!r}"
        out.append(int(match.group(2)))
    return out


async def test_any_api_process_streams_joins_and_cancels_any_run(
    pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    with running_cluster(tmp_path, pg_dsn, redis_url) as cluster:
        async with clients(cluster) as (a, b):
            thread = await a.threads.create(metadata={"user": "u1"})
            tid = thread["thread_id"]
            assert (await b.threads.get(tid))["metadata"] == {"user": "u1"}
            assert [t["thread_id"] for t in await b.threads.search(metadata={"user": "u1"})] == [
                tid
            ]

            # 1. streamed at A, to the end; the thread's state at B
            with anyio.fail_after(60):
                parts = [
                    p
                    async for p in a.runs.stream(
                        tid, "agent", input={"prompt": "one two"}, stream_mode=["custom"]
                    )
                ]
            assert parts[0].event == "metadata"
            assert parts[0].data["attempt"] == 1
            assert [
                p.event for p in parts if p.event in ("end", "error")
            ] == []  # the stream closes, as LangGraph's
            assert numbers(parts) == list(range(1, len(parts) + 1))
            tokens = [p.data["token"] for p in parts if p.event == "custom"]
            assert len(tokens) == 8 + 24
            state = await b.threads.get_state(tid)
            assert state["values"]["tokens"] == tokens
            assert (await b.threads.get(tid))["status"] == "idle"

            # 2. read 5 events at A, leave; rejoin at B with Last-Event-ID: exactly the rest
            first: list[Any] = []
            with anyio.fail_after(60):
                async for p in a.runs.stream(
                    tid, "agent", input={"prompt": "three"}, stream_mode=["custom"]
                ):
                    first.append(p)
                    if len(first) == 5:
                        break
                run_id = first[0].data["run_id"]
                rest = [
                    p
                    async for p in b.runs.join_stream(
                        tid, run_id, last_event_id=first[-1].id, stream_mode=["custom"]
                    )
                ]
            both = first + rest
            assert numbers(both) == list(range(1, len(both) + 1))
            assert [p.data["token"] for p in both if p.event == "custom"] == ["three"] * 32
            assert [p.event for p in rest if p.event in ("end", "error")] == []

            # 2b. later, when the stream is gone (its TTL passed): the state from the
            # checkpoints instead of the events
            import redis

            with redis.Redis.from_url(redis_url) as raw:
                assert raw.delete(f"scopegraph:run:{run_id}:events") == 1
            with anyio.fail_after(60):
                late = [
                    p async for p in a.runs.join_stream(tid, run_id, last_event_id=first[-1].id)
                ]
            assert [p.event for p in late] == ["metadata", "values"]
            assert late[0].data["events_lost"] is True
            assert late[1].data["tokens"][-32:] == ["three"] * 32

            # 3. created at A, joined at B
            run = await a.runs.create(tid, "agent", input={"prompt": "four"})
            with anyio.fail_after(60):
                joined = await b.runs.join(tid, run["run_id"])
            assert joined["tokens"][-32:] == ["four"] * 32
            assert (await a.runs.get(tid, run["run_id"]))["status"] == "success"

            # 4. created at A, cancelled at B while it streams at A
            seen: list[Any] = []
            with anyio.fail_after(60):
                async for p in a.runs.stream(
                    tid, "agent", input={"prompt": "five"}, stream_mode=["custom"]
                ):
                    seen.append(p)
                    if p.event == "custom" and len(seen) == 3:
                        await b.runs.cancel(tid, seen[0].data["run_id"], wait=True)
            run_id = seen[0].data["run_id"]
            assert [p.event for p in seen if p.event in ("end", "error")] == []
            stopped = await a.runs.get(tid, run_id)
            assert stopped["status"] == "interrupted"
            assert stopped["worker"] in ("W1", "W2", "W3")
            assert cluster.cleanups(run_id) == ["cleanup-start think", "cleanup-done think"]
            state = await b.threads.get_state(tid)
            assert state["next"] == ["think"]  # the step in flight is re-run on resume
            assert [r["status"] for r in await b.runs.list(tid)] == [
                "interrupted",
                "success",
                "success",
                "success",
            ]
            # resumed from its checkpoint, at B
            with anyio.fail_after(60):
                resumed = await b.runs.wait(tid, "agent", input=None)
            assert resumed["tokens"][-32:] == ["five"] * 32


@pytest.mark.parametrize("worker_backend", ["asyncio", "trio"])
async def test_a_disconnect_at_one_api_cancels_the_run_on_a_worker(
    pg_dsn: str, redis_url: str, tmp_path: Path, worker_backend: str
) -> None:
    with running_cluster(tmp_path, pg_dsn, redis_url, worker_backend=worker_backend) as cluster:
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            seen: list[Any] = []
            with anyio.fail_after(60):
                async for p in a.runs.stream(
                    tid,
                    "agent",
                    input={"prompt": "bye"},
                    stream_mode=["custom"],
                    on_disconnect="cancel",
                ):
                    seen.append(p)
                    if p.event == "custom" and len(seen) == 4:
                        break  # the client leaves: the SDK closes the connection to A
            run_id = seen[0].data["run_id"]

            async def ended() -> dict[str, Any] | None:
                run = await b.runs.get(tid, run_id)
                return run if run["status"] != "running" else None

            run = await eventually(ended, "the run to end after the disconnect")
            assert run["status"] == "interrupted"
            assert run["cancel_reason"] == "client disconnected"
            assert run["worker"] in ("W1", "W2", "W3")
            assert [e["event"] for e in run["lifecycle"]] == [
                f"run started (attempt 1, {run['worker']})",
                "cancel requested (client disconnected)",
                "cleanup finished",
                "checkpoint saved",
            ]
            # The node's shielded cleanup ran to its end on the worker, once; nothing after.
            assert cluster.cleanups(run_id) == ["cleanup-start think", "cleanup-done think"]
            state = await b.threads.get_state(tid)
            assert state["values"]["prompt"] == "bye"
            assert state["next"] == ["think"]
            assert (await b.threads.get(tid))["status"] == "interrupted"


async def test_a_worker_killed_mid_run_is_resumed_by_another_and_completes_once(
    pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    with running_cluster(tmp_path, pg_dsn, redis_url) as cluster:
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            parts: list[Any] = []
            killed = ""
            with anyio.fail_after(90):
                async for p in a.runs.stream(
                    tid, "chain", input={"done": []}, stream_mode=["custom"]
                ):
                    parts.append(p)
                    if p.event == "custom" and p.data == {"node": "n2", "i": 1} and not killed:
                        run = await b.runs.get(tid, parts[0].data["run_id"])
                        killed = run["worker"]
                        cluster.kill(killed)  # mid-step 2
            run_id = parts[0].data["run_id"]
            assert numbers(parts) == list(range(1, len(parts) + 1))
            events = [(p.event, p.data) for p in parts]
            resumed = events.index(("metadata", {"run_id": run_id, "attempt": 2}))
            assert [d["node"] for _, d in events[resumed + 1 :]] == (
                ["n2"] * 5 + ["n3"] * 5 + ["n4"] * 5
            )
            run = await b.runs.get(tid, run_id)
            assert (run["status"], run["attempt"]) == ("success", 2)
            assert run["worker"] != killed
            assert [e["event"] for e in run["lifecycle"]] == [
                f"run started (attempt 1, {killed})",
                f"lease of worker {killed} expired",
                f"run started (attempt 2, {run['worker']})",
            ]
            starts = cluster.node_starts()
            assert [node for node, _ in starts] == ["n1", "n2", "n2", "n3", "n4"]
            assert starts[1][1] != starts[2][1]  # n2 again, in another process
            assert (await a.threads.get_state(tid))["values"]["done"] == CHAIN


async def test_a_redis_restart_during_a_run_loses_no_run(pg_dsn: str, tmp_path: Path) -> None:
    with (
        _redis.running_redis_server() as redis,
        running_cluster(tmp_path, pg_dsn, redis.url()) as cluster,
    ):
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            parts: list[Any] = []
            with anyio.fail_after(90):
                async for p in a.runs.stream(
                    tid, "chain", input={"done": []}, stream_mode=["custom", "values"]
                ):
                    parts.append(p)
                    if p.event == "custom" and p.data == {"node": "n2", "i": 1}:
                        redis.restart()  # no persistence: every stream is gone
            run_id = parts[0].data["run_id"]
            events = [p.event for p in parts]
            lost = [p for p in parts if p.event == "metadata" and p.data.get("events_lost")]
            assert len(lost) == 1, events
            # after the notice: the state from the checkpoint, then the run to its end
            after = parts[parts.index(lost[0]) + 1 :]
            assert after[0].event == "values"
            assert after[0].data["done"][:1] == ["n1"]
            assert parts[-1].event == "values"  # its last event (no closing `end`)
            assert parts[-1].data["done"] == CHAIN
            run = await b.runs.get(tid, run_id)
            assert (run["status"], run["attempt"]) == ("success", 1)
            # and the cluster goes on: a new run, created at B, joined at A
            run = await b.runs.create(tid, "chain", input={"done": []})
            with anyio.fail_after(60):
                values = await a.runs.join(tid, run["run_id"])
            assert values["done"] == CHAIN + CHAIN


async def test_a_postgres_restart_during_a_run_loses_no_run(redis_url: str, tmp_path: Path) -> None:
    with _pg.running_pg_server() as pg:
        dsn = _pg.create_database(pg.dsn())
        with running_cluster(tmp_path, dsn, redis_url) as cluster:
            async with clients(cluster) as (a, b):
                tid = (await a.threads.create())["thread_id"]
                parts: list[Any] = []
                restarted = False
                with anyio.fail_after(120):
                    async for p in a.runs.stream(
                        tid, "chain", input={"done": []}, stream_mode=["custom"]
                    ):
                        parts.append(p)
                        if (
                            p.event == "custom"
                            and p.data == {"node": "n2", "i": 1}
                            and not restarted
                        ):
                            restarted = True
                            await anyio.to_thread.run_sync(pg.restart)  # drops every connection
                run_id = parts[0].data["run_id"]
                assert [p.event for p in parts if p.event in ("end", "error")] == [], [
                    p.event for p in parts
                ]

                async def finished() -> dict[str, Any] | None:
                    run = await b.runs.get(tid, run_id)
                    return run if run["status"] == "success" else None

                run = await eventually(finished, "the run to succeed after the restart")
                # the run went on (attempt 1) or was re-queued and resumed (attempt 2): either
                # way every node's work is in the state once
                assert run["attempt"] in (1, 2)
                state = await a.threads.get_state(tid)
                assert state["values"]["done"] == CHAIN
                nodes = [node for node, _ in cluster.node_starts()]
                assert nodes in (CHAIN, ["n1", "n2", "n2", "n3", "n4"])
                run = await a.runs.create(tid, "chain", input={"done": []})
                with anyio.fail_after(60):
                    values = await b.runs.join(tid, run["run_id"])
                assert values["done"] == CHAIN + CHAIN


async def test_a_stopped_worker_hands_its_run_to_another_after_its_cleanup(
    pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    # A deployment stops a worker (SIGTERM) mid-run, with a grace period shorter than
    # the run: the run is cancelled there (its shielded cleanup completes), handed back to
    # the queue, and another worker resumes it from its last checkpoint.
    with running_cluster(tmp_path, pg_dsn, redis_url, grace=0.1) as cluster:
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            parts: list[Any] = []
            stopped = ""
            with anyio.fail_after(60):
                async for p in a.runs.stream(
                    tid, "agent", input={"prompt": "go"}, stream_mode=["custom"]
                ):
                    parts.append(p)
                    if p.event == "custom" and p.data["node"] == "answer" and not stopped:
                        run = await b.runs.get(tid, parts[0].data["run_id"])
                        stopped = run["worker"]
                        status = await anyio.to_thread.run_sync(cluster.terminate, stopped)
                        assert status == 0
            run_id = parts[0].data["run_id"]
            # the stopped worker's cleanup was done before it exited: in the log already
            assert cluster.cleanups(run_id)[:4] == [
                "cleanup-start think",
                "cleanup-done think",
                "cleanup-start answer",
                "cleanup-done answer",
            ]
            events = [(p.event, p.data) for p in parts]
            assert ("metadata", {"run_id": run_id, "attempt": 2}) in events
            assert [e for e, _ in events if e in ("end", "error")] == []
            run = await b.runs.get(tid, run_id)
            assert (run["status"], run["attempt"]) == ("success", 2)
            assert run["worker"] != stopped
            # think's result was checkpointed before the stop: only answer ran again
            assert cluster.cleanups(run_id)[4:] == ["cleanup-start answer", "cleanup-done answer"]
            state = await a.threads.get_state(tid)
            assert len(state["values"]["tokens"]) == 8 + 24


async def test_a_draining_api_process_ends_its_streams_and_the_run_goes_on(
    pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    with running_cluster(tmp_path, pg_dsn, redis_url) as cluster:
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            first: list[Any] = []
            body = {
                "assistant_id": "chain",
                "input": {"done": []},
                "stream_mode": ["custom"],
                "on_disconnect": "cancel",  # a drain is not a disconnect: no cancel
            }
            with anyio.fail_after(60):
                async with (
                    httpx.AsyncClient(base_url=cluster.apis[0], timeout=30) as http,
                    http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response,
                ):
                    async for event in _sse(response):
                        first.append(event)
                        if event["data"] == {"node": "n1", "i": 2}:
                            cluster.processes["API1"].process.send_signal(signal.SIGTERM)
            assert first[-1]["data"]["node"] == "n1"  # cut short by the drain
            run_id = first[0]["data"]["run_id"]
            with anyio.fail_after(60):
                rest = [
                    p
                    async for p in b.runs.join_stream(
                        tid, run_id, last_event_id=first[-1]["id"], stream_mode=["custom"]
                    )
                ]
            ids = [e["id"] for e in first] + [p.id for p in rest]
            assert [int(i.split("-")[1]) for i in ids] == list(range(1, len(ids) + 1))
            assert rest
            assert [p.event for p in rest if p.event in ("end", "error")] == []
            run = await b.runs.get(tid, run_id)
            assert (run["status"], run["attempt"]) == ("success", 1)
            assert cluster.processes["API1"].process.wait(30) == 0


async def _sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The events of an SSE response: ``{"event", "data", "id"}``."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "event" in event:
                yield event
            event = {}
        elif line.startswith("event: "):
            event["event"] = line[7:]
        elif line.startswith("data: "):
            event["data"] = orjson.loads(line[6:])
        elif line.startswith("id: "):
            event["id"] = line[4:]


async def test_multitask_strategies_hold_across_api_processes(
    pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    with running_cluster(tmp_path, pg_dsn, redis_url) as cluster:
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            with anyio.fail_after(60):
                done = await a.runs.wait(tid, "chain", input={"done": []})
            assert done["done"] == CHAIN
            first = await a.runs.create(tid, "chain", input={"done": []})
            # reject, at the other process: the thread is busy
            with pytest.raises(ConflictError, match="busy"):
                await b.runs.create(tid, "chain", input={"done": []}, multitask_strategy="reject")
            # rollback, at the other process: the first run is cancelled and deleted, its
            # checkpoints too; the new run starts from the thread's earlier state
            second = await b.runs.create(
                tid, "chain", input={"done": []}, multitask_strategy="rollback"
            )
            with anyio.fail_after(60):
                values = await a.runs.join(tid, second["run_id"])
            assert values["done"] == CHAIN + CHAIN
            with pytest.raises(NotFoundError):
                await a.runs.get(tid, first["run_id"])
            history = await b.threads.get_history(tid, limit=100)
            assert first["run_id"] not in {h["metadata"].get("run_id") for h in history}
            # interrupt: the running run ends interrupted; the new one runs after it
            third = await a.runs.create(tid, "chain", input={"done": []})
            fourth = await b.runs.create(
                tid, "chain", input={"done": []}, multitask_strategy="interrupt"
            )
            with anyio.fail_after(60):
                values = await b.runs.join(tid, fourth["run_id"])
            assert (await a.runs.get(tid, third["run_id"]))["status"] == "interrupted"
            assert values["done"][: 2 * len(CHAIN)] == CHAIN + CHAIN
            assert values["done"][-len(CHAIN) :] == CHAIN
            # enqueue: a run waits behind the thread's running one; cancelled while it
            # waits, it ends at once (no worker ever runs it) and its stream ends
            running = await a.runs.create(tid, "chain", input={"done": []})
            queued = await a.runs.create(tid, "chain", input={"done": []})
            assert (await b.runs.get(tid, queued["run_id"]))["status"] == "pending"
            await b.runs.cancel(tid, queued["run_id"], wait=True)
            assert (await a.runs.get(tid, queued["run_id"]))["status"] == "interrupted"
            with anyio.fail_after(30):
                ends = [p.event async for p in a.runs.join_stream(tid, queued["run_id"])]
                assert ends == []  # it never ran: its stream closes at once
                await b.runs.join(tid, running["run_id"])
            assert (await b.runs.get(tid, running["run_id"]))["status"] == "success"
            assert (await b.runs.get(tid, queued["run_id"]))["attempt"] == 0


async def test_a_run_timeout_ends_the_run_on_its_worker_after_cleanup(
    pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    with running_cluster(tmp_path, pg_dsn, redis_url) as cluster:
        async with clients(cluster) as (a, b):
            tid = (await a.threads.create())["thread_id"]
            body = {
                "assistant_id": "agent",
                "input": {"prompt": "slow"},
                "stream_mode": ["custom"],
                "timeout": 0.25,  # scopegraph's run timeout, in seconds
            }
            with anyio.fail_after(60):
                async with (
                    httpx.AsyncClient(base_url=cluster.apis[0], timeout=30) as http,
                    http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response,
                ):
                    parts = [e async for e in _sse(response)]
            run_id = parts[0]["data"]["run_id"]
            assert parts[-1]["event"] == "error"
            assert parts[-1]["data"]["error"] == "RunTimeout"
            run = await b.runs.get(tid, run_id)
            assert run["status"] == "timeout"
            assert [e["event"] for e in run["lifecycle"]][1:] == [
                "timed out",
                "cleanup finished",
                "checkpoint saved",
            ]
            assert cluster.cleanups(run_id) == ["cleanup-start think", "cleanup-done think"]


@pytest.mark.parametrize("workers", [2, 0])
async def test_serve_with_workers_runs_its_worker_processes_and_stops_them(
    pg_dsn: str, redis_url: str, tmp_path: Path, workers: int
) -> None:
    # --workers 2: two worker processes, started and stopped with the server; without
    # it, the API process runs the queued runs itself.
    db = as_url(pg_dsn)
    port = free_port()
    args = [sys.executable, "-m", "scopegraph._cli", "serve", "--graph", f"agent={EXAMPLE}:graph"]
    args += ["--db", db, "--redis", redis_url, "--port", str(port)]
    args += ["--workers", str(workers)] if workers else []
    args += ["--log-level", "warning", "--lease", "2"]
    env = {**os.environ, "SCOPEGRAPH_DEMO_INTERVAL": "0.001", "SCOPEGRAPH_DEMO_CLEANUP": "0"}
    output = tmp_path / "serve.log"
    server = start_process(args, env, output)
    url = f"http://127.0.0.1:{port}"
    try:
        with anyio.fail_after(60):
            while listeners(db) < max(workers, 1) or not await _answers(url):
                assert server.poll() is None, output.read_text()
                await anyio.sleep(0.05)
        client: Any
        async with get_client(url=url) as client:
            info = await client.http.get("/info")
            assert info["mode"] == "cluster"
            # with worker processes, the API process runs no runs itself
            assert (info["worker_id"] is None) == bool(workers)
            with anyio.fail_after(60):
                values = await client.runs.wait(None, "agent", input={"prompt": "hi"})
            assert len(values["tokens"]) == 8 + 24
            # a stateless run's thread is hidden; its id cannot be taken for a thread
            stateless = await client.runs.create(None, "agent", input={"prompt": "x"})
            with pytest.raises(ConflictError, match="stateless run"):
                await client.threads.create(thread_id=stateless["thread_id"])
            # deleting a thread cancels its run, then its checkpoints and runs go
            tid = (await client.threads.create())["thread_id"]
            run = await client.runs.create(tid, "agent", input={"prompt": "bye"})
            await client.threads.delete(tid)
            with pytest.raises(NotFoundError):
                await client.threads.get(tid)
            with pytest.raises(NotFoundError):
                await client.runs.get(tid, run["run_id"])
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(30)
    assert status == 0, output.read_text()
    assert listeners(db) == 0  # the worker processes are gone too


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{url}/ok", timeout=1)).status_code == 200
    except httpx.TransportError:
        return False


def start_process(args: list[str], env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
