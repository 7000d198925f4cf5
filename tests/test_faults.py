"""Real faults against a real ``scopegraph serve`` (issue 13, item 2 and the fault tests).

Each test injects a real fault (a SQLite file on a small filesystem that fills up, the
server's PostgreSQL connections killed, a Redis restart, values the store cannot keep) and
asserts that nothing is lost and that the server recovers:

- a storage failure fails that operation only: the run that was finishing ends ``error``
  with the reason, a request gets a 503 JSON error, other requests are served;
- ``GET /ok`` is 503 while the storage takes no writes, 200 again once it does;
- once the storage is back, what the server kept in memory meanwhile (the run's end, the
  thread's status) is stored, new runs succeed, and SIGTERM stops the server promptly.

The server runs on asyncio (uvicorn), so these are plain sync tests. Mounting a
filesystem needs root: without it the test skips, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import anyio
import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server
from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import InMemorySaver
from scopegraph.server import create_app
from scopegraph.server._models import RunCreate
from scopegraph.server._store import Documents, StoreError, open_backend
from test_server_postgres_reconnect import terminate_connections

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

RUN = {"assistant_id": "agent", "input": {"prompt": "fill the disk"}}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the fault tests never skip)")
    pytest.skip(reason)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 16 MB tmpfs, mounted for the test and unmounted after it."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0:
        _unavailable("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        _unavailable(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def disk_full(disk: Path) -> Iterator[None]:
    """Fill ``disk`` to the last byte; free it on exit."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        chunk = b"\0" * (1 << 16)
        while True:
            try:
                f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    try:
        yield
    finally:
        filler.unlink()


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


def own_checkpoint(http: httpx.Client, tid: str, run_id: str) -> None:
    """Wait until the run has stored a checkpoint of its own (it is executing)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = ok(http.post(f"/threads/{tid}/history", json={"limit": 1000}))
        if run_id in {s["metadata"].get("run_id") for s in states}:
            return
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} stored no checkpoint within 30 s")


def checkpoint_ids(http: httpx.Client, tid: str) -> list[str]:
    states = ok(http.post(f"/threads/{tid}/history", json={"limit": 1000}))
    return [s["checkpoint"]["checkpoint_id"] for s in states]


def test_a_full_disk_fails_the_finishing_run_only_and_the_server_recovers(
    tmp_path: Path, small_disk: Path
) -> None:
    db = str(small_disk / "server.db")
    with (
        running_server(tmp_path, db=db, grace=2, interval=0.05) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        tid = ok(http.post("/threads", json={}))["thread_id"]
        ok(http.post(f"/threads/{tid}/runs/wait", json=RUN))
        kept = checkpoint_ids(http, tid)
        run = ok(http.post(f"/threads/{tid}/runs", json=RUN))
        own_checkpoint(http, tid, run["run_id"])
        with disk_full(small_disk):
            # the run cannot store its next step: it ends, with the reason, and only it
            ok(http.get(f"/threads/{tid}/runs/{run['run_id']}/join"))
            assert ok(http.get(f"/threads/{tid}/runs/{run['run_id']}"))["status"] == "error"
            health = http.get("/ok")
            assert health.status_code == 503, health.text
            assert health.json()["error"] == "ServiceUnavailable"
            refused = http.post("/threads", json={})
            # the database's own words stay in the server's log, under the request's id
            assert "disk" not in refused.text, refused.text
            assert "sqlite" not in refused.text.lower(), refused.text
            assert refused.status_code == 503, refused.text
            message, request_id = refused.json()["message"], refused.headers["x-request-id"]
            assert f"request id {request_id}" in message
            assert ok(http.get(f"/threads/{tid}"))["status"] == "error"  # reads are served
        assert ok(http.get("/ok")) == {"ok": True}  # the disk has room again
        assert f"request {request_id}: POST /threads failed" in server.log()
        assert "database or disk is full" in server.log()
        after = ok(http.post(f"/threads/{tid}/runs/wait", json=RUN))
        assert after["tokens"]
        assert checkpoint_ids(http, tid)[-len(kept) :] == kept  # nothing of before is lost
        started = time.monotonic()
        assert server.terminate(timeout=30) == 0
        assert time.monotonic() - started < 2 + 10  # grace + a bound
    # what the server kept in memory while the disk was full was stored once it had room
    with (
        running_server(tmp_path, db=db, grace=2) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        assert ok(http.get(f"/threads/{tid}/runs/{run['run_id']}"))["status"] == "error"
        assert ok(http.get(f"/threads/{tid}"))["status"] == "idle"
        assert checkpoint_ids(http, tid)[-len(kept) :] == kept


NEVER_ENDING_CLEANUP = """
import anyio, math
from typing import TypedDict
from scopegraph import StateGraph, START, END

class State(TypedDict, total=False):
    x: int

async def stuck(state: State) -> State:
    try:
        await anyio.sleep(math.inf)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(math.inf)  # a cleanup that never ends
    return state

builder = StateGraph(State)
builder.add_node("stuck", stuck)
builder.add_edge(START, "stuck")
builder.add_edge("stuck", END)
graph = builder.compile()
"""


def test_shutdown_completes_within_the_grace_period_plus_the_bound(tmp_path: Path) -> None:
    app = tmp_path / "stuck.py"
    app.write_text(NEVER_ENDING_CLEANUP)
    with (
        contextlib.ExitStack() as stack,
        running_server(
            tmp_path,
            graphs=[f"stuck={app}:graph"],
            grace=0.5,
            extra_args=["--shutdown-bound", "1"],
            expect_status=1,
        ) as server,
    ):
        http = stack.enter_context(httpx.Client(base_url=server.url, timeout=10))
        tid = ok(http.post("/threads", json={}))["thread_id"]
        ok(http.post(f"/threads/{tid}/runs", json={"assistant_id": "stuck", "input": {}}))
        started = time.monotonic()
        assert server.terminate(timeout=20) == 1
        assert time.monotonic() - started < 0.5 + 1 + 3
        assert "did not complete within 1.5 s" in server.log()


def as_url(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


def until_ok(http: httpx.Client) -> None:
    """``GET /ok`` answers 200 (a pool reconnects in the background: allow it a moment)."""
    deadline = time.monotonic() + 30
    while (response := http.get("/ok")).status_code != 200:
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)


def a_run_meets_the_fault(
    http: httpx.Client, fault: Any, tid: str | None = None
) -> tuple[str, list[str], dict[str, Any]]:
    """A thread with a finished run, then a run that meets ``fault()`` while it runs;
    (thread, the checkpoints from before, the run once it ended)."""
    tid = tid or ok(http.post("/threads", json={}))["thread_id"]
    ok(http.post(f"/threads/{tid}/runs/wait", json=RUN))
    kept = checkpoint_ids(http, tid)
    run = ok(http.post(f"/threads/{tid}/runs", json=RUN))
    own_checkpoint(http, tid, run["run_id"])
    fault()
    ok(http.get(f"/threads/{tid}/runs/{run['run_id']}/join"))
    ended = ok(http.get(f"/threads/{tid}/runs/{run['run_id']}"))
    assert ended["status"] in ("success", "error"), ended
    return tid, kept, ended


def test_the_servers_postgresql_connections_killed_during_a_run_lose_nothing(
    pg_server: str, tmp_path: Path
) -> None:
    dsn = _pg.create_database(pg_server)
    with (
        running_server(tmp_path, db=as_url(dsn), interval=0.02, cleanup=0.01) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        tid, kept, _ = a_run_meets_the_fault(http, lambda: terminate_connections(dsn))
        until_ok(http)
        assert ok(http.post(f"/threads/{tid}/runs/wait", json=RUN))["tokens"]
        assert checkpoint_ids(http, tid)[-len(kept) :] == kept
        ok(http.post("/threads/search", json={}))


def test_a_redis_restart_under_scale_out_loses_no_run(pg_dsn: str, tmp_path: Path) -> None:
    with (
        _redis.running_redis_server() as redis,
        running_cluster(
            tmp_path, pg_dsn, redis.url(0), apis=1, workers=1, interval=0.02
        ) as cluster,
        httpx.Client(base_url=cluster.apis[0], timeout=60) as http,
    ):
        tid, kept, ended = a_run_meets_the_fault(http, redis.restart)
        assert ended["status"] == "success", ended  # its events were lost, not the run
        until_ok(http)
        assert ok(http.post(f"/threads/{tid}/runs/wait", json=RUN))["tokens"]
        assert checkpoint_ids(http, tid)[-len(kept) :] == kept


# -- the run manager itself, on asyncio and trio ------------------------------------------


class Gate(TypedDict, total=False):
    go: bool
    n: int


def gated_graph(started: anyio.Event, gate: anyio.Event) -> Any:
    """A graph whose node waits for ``gate`` (unless its input says ``go``)."""

    async def wait(state: Gate) -> Gate:
        if not state.get("go"):
            started.set()
            await gate.wait()
        return {"n": state.get("n", 0) + 1}

    builder = StateGraph(Gate)
    builder.add_node("wait", wait)
    builder.add_edge(START, "wait")
    builder.add_edge("wait", END)
    return builder.compile()


@pytest.mark.anyio
async def test_a_run_whose_end_cannot_be_stored_ends_error_and_the_server_goes_on(
    small_disk: Path,
) -> None:
    """The run succeeds, but the disk is full when its end is written: it ends ``error``
    (``RunNotStored``), ``join`` returns, the store refuses writes (``/ok``'s check), and
    once there is room the kept record is stored and the next run succeeds."""
    started, gate = anyio.Event(), anyio.Event()
    db = str(small_disk / "documents.db")
    app = create_app({"g": gated_graph(started, gate)}, InMemorySaver(), database=db)
    backend = app.state.backend
    async with backend.lifespan():
        tid = (await backend.create_thread(None, None, None))["thread_id"]
        run = await backend.create_run(tid, RunCreate(assistant_id="g", input={"n": 0}))
        await started.wait()
        with disk_full(small_disk):
            gate.set()
            with anyio.fail_after(30):  # it used to hang: the run never ended
                final = await backend.join_run(tid, run["run_id"])
            assert final["__error__"]["error"] == "RunNotStored"
            assert (await backend.get_run(tid, run["run_id"]))["status"] == "error"
            with pytest.raises(StoreError):
                await backend.check()
            with pytest.raises(StoreError):
                await backend.create_thread(None, None, None)
        await backend.check()  # room again: what was kept is stored now
        again = await backend.create_run(tid, RunCreate(assistant_id="g", input={"go": True}))
        assert await backend.join_run(tid, again["run_id"]) == {"go": True, "n": 2}
    stored = Documents(open_backend(db))
    try:
        assert (await stored.get("run", run["run_id"]) or {}).get("status") == "error"
        assert (await stored.get("run", again["run_id"]) or {}).get("status") == "success"
        assert (await stored.get("thread", tid) or {}).get("status") == "idle"
    finally:
        stored.close()


UNSTORABLE_RESULT = """
from typing import TypedDict
from scopegraph import StateGraph, START, END

class State(TypedDict, total=False):
    text: str

async def nul(state: State) -> State:
    return {"text": "a" + chr(0) + "b"}  # its checkpoint keeps it; PostgreSQL's jsonb cannot

builder = StateGraph(State)
builder.add_node("nul", nul)
builder.add_edge(START, "nul")
builder.add_edge("nul", END)
graph = builder.compile()
"""


def test_a_run_whose_result_the_queue_cannot_store_fails_alone_in_scale_out(
    pg_dsn: str, tmp_path: Path
) -> None:
    """The worker could not record the run's end (PostgreSQL refused its result): the run
    ends ``error`` and the worker goes on serving runs (it used to crash, and the run,
    re-queued, crashed the next worker)."""
    app = tmp_path / "nul_graph.py"
    app.write_text(UNSTORABLE_RESULT)
    with (
        _redis.running_redis_server() as redis,
        running_cluster(
            tmp_path, pg_dsn, redis.url(0), apis=1, workers=1, extra_graphs=[f"nul={app}:graph"]
        ) as cluster,
        httpx.Client(base_url=cluster.apis[0], timeout=60) as http,
    ):
        tid = ok(http.post("/threads", json={}))["thread_id"]
        run = ok(http.post(f"/threads/{tid}/runs", json={"assistant_id": "nul", "input": {}}))
        ok(http.get(f"/threads/{tid}/runs/{run['run_id']}/join"))
        assert ok(http.get(f"/threads/{tid}/runs/{run['run_id']}"))["status"] == "error"
        assert cluster.processes["W1"].process.poll() is None, cluster.logs()
        assert ok(http.post(f"/threads/{tid}/runs/wait", json=RUN))["tokens"]
