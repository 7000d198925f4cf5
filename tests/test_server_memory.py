"""Issue 13 item 9: the server's memory does not grow with what it has stored.

- ``history`` with ``limit`` reads only the checkpoints it returns (the saver's query
  applies the limit): the older checkpoints of the thread are never read, so a thread
  whose oldest checkpoint cannot be decoded still answers ``limit=2``; with a metadata
  filter it reads page after page until it has ``limit`` matches (nothing is missed).
- The store is the source of truth: a single-process server reads its threads and runs
  from the database on each request (it used to load them all at start and keep them in
  memory forever), with the metadata and status filters, the limit and the offset in SQL.
- A scale-out search with ``status`` finds every match, however many threads there are
  (it used to read the first 10,000 threads and drop the rest silently).
- Repeated cancel requests of a run are recorded once: the run's lifecycle does not grow
  with each request (single process and scale-out).

The servers are real ``scopegraph serve`` processes (uvicorn, asyncio) on SQLite, and a
scale-out API process with a worker on PostgreSQL and Redis, driven over HTTP.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import anyio
import httpx
import orjson
import psycopg
import psycopg.conninfo
import pytest

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server
from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server._store import Documents, open_backend

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url


class Count(TypedDict):
    n: int


def counting_graph(saver: SqliteSaver) -> Any:
    builder = StateGraph(Count)
    builder.add_node("step", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile(checkpointer=saver)


def config(thread: str = "t1") -> Any:
    return {"configurable": {"thread_id": thread}}


def break_oldest_checkpoints(path: Path, keep: int) -> None:
    """Overwrite every checkpoint of the thread but the newest ``keep`` with bytes that
    cannot be decoded: reading one of them raises CorruptCheckpointError."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE scopegraph_checkpoints SET data = x'00' WHERE seq NOT IN "
            "(SELECT seq FROM scopegraph_checkpoints ORDER BY seq DESC LIMIT ?)",
            (keep,),
        )
    conn.close()


@pytest.mark.anyio
async def test_history_with_limit_reads_only_what_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    with SqliteSaver(path) as saver:
        graph = counting_graph(saver)
        for _ in range(5):
            await graph.ainvoke({"n": 0}, config())
        every = [s async for s in graph.aget_state_history(config())]
        assert len(every) == 15  # input, loop and step checkpoint of each of the 5 runs
        break_oldest_checkpoints(path, keep=3)

        newest = [s async for s in graph.aget_state_history(config(), limit=3)]
        assert [s.config for s in newest] == [s.config for s in every[:3]]
        assert len(list(graph.get_state_history(config(), limit=2))) == 2


@pytest.mark.anyio
async def test_history_with_a_filter_reads_pages_until_it_has_enough(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "checkpoints.db") as saver:
        graph = counting_graph(saver)
        for _ in range(80):  # 240 checkpoints: more than one page of 100
            await graph.ainvoke({"n": 0}, config())
        inputs = [s async for s in graph.aget_state_history(config(), filter={"source": "input"})]
        assert len(inputs) == 80
        # the first run's input checkpoint only, the oldest of all: on the third page
        first = [s async for s in graph.aget_state_history(config(), filter={"step": -1})]
        assert [s.config for s in first] == [inputs[-1].config]
        two = [s async for s in graph.aget_state_history(config(), filter={"step": -1}, limit=2)]
        assert [s.config for s in two] == [inputs[-1].config]
        some = list(graph.get_state_history(config(), filter={"source": "loop"}, limit=75))
        assert len(some) == 75
        oldest = [s async for s in graph.aget_state_history(config())][-1]
        before = [
            s
            async for s in graph.aget_state_history(
                config(), filter={"source": "input"}, before=oldest.config
            )
        ]
        assert before == []


# -- the server --------------------------------------------------------------------------


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


OTHER = "00000000-0000-4000-8000-000000000001"


def test_the_store_is_the_source_of_truth(tmp_path: Path) -> None:
    """What is in the database is what the server shows: nothing is held in memory."""
    with (
        running_server(tmp_path, interval=0.001, cleanup=0) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        tid = ok(http.post("/threads", json={"metadata": {"kind": "served"}}))["thread_id"]
        ok(http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": {}}))

        docs = Documents(open_backend(str(tmp_path / "server.db")))
        try:
            stored = {
                "thread_id": OTHER,
                "created_at": "2999-01-01T00:00:00+00:00",
                "updated_at": "2999-01-01T00:00:00+00:00",
                "metadata": {"kind": "stored"},
                "status": "idle",
                "config": {},
                "values": None,
                "interrupts": {},
            }
            anyio.run(docs.save, "thread", stored)
            assert ok(http.get(f"/threads/{OTHER}"))["metadata"] == {"kind": "stored"}
            found = ok(http.post("/threads/search", json={"limit": 1}))
            assert [t["thread_id"] for t in found] == [OTHER]
            found = ok(http.post("/threads/search", json={"metadata": {"kind": "served"}}))
            assert [t["thread_id"] for t in found] == [tid]
            found = ok(http.post("/threads/search", json={"offset": 1, "status": "idle"}))
            assert [t["thread_id"] for t in found] == [tid]

            (run,) = ok(http.get(f"/threads/{tid}/runs"))
            anyio.run(docs.delete_runs, tid)
            assert ok(http.get(f"/threads/{tid}/runs")) == []
            assert http.get(f"/threads/{tid}/runs/{run['run_id']}").status_code == 404
        finally:
            docs.close()


@pytest.fixture(params=["sqlite", "scale-out"])
def slow_cleanup_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A server whose runs take seconds to clean up after a cancel: time for many
    cancel requests while the run is still running."""
    if request.param == "scale-out":
        db, redis = request.getfixturevalue("pg_dsn"), request.getfixturevalue("redis_url")
        with running_cluster(tmp_path, db, redis, apis=1, workers=1, cleanup=3.0) as cluster:
            yield cluster.apis[0]
        return
    with running_server(tmp_path, cleanup=3.0) as server:
        yield server.url


def test_repeated_cancels_do_not_grow_the_run_record(slow_cleanup_url: str) -> None:
    with httpx.Client(base_url=slow_cleanup_url, timeout=60) as http:
        tid = ok(http.post("/threads", json={}))["thread_id"]
        body = {"assistant_id": "agent", "input": {"prompt": "a"}, "stream_mode": ["custom"]}
        run_id = ok(http.post(f"/threads/{tid}/runs", json=body))["run_id"]
        with http.stream("GET", f"/threads/{tid}/runs/{run_id}/stream") as events:
            for line in events.iter_lines():  # the run is executing: it streams tokens
                if line.startswith("event: custom"):
                    break
        accepted = 0
        for _ in range(20):
            response = http.post(f"/threads/{tid}/runs/{run_id}/cancel")
            if response.status_code == 404:  # it ended (its cleanup took 3 s): nothing to cancel
                break
            assert response.status_code == 202, response.text
            accepted += 1
        assert accepted >= 2
        ok(http.get(f"/threads/{tid}/runs/{run_id}/join"))
        run = ok(http.get(f"/threads/{tid}/runs/{run_id}"))
        assert run["status"] == "interrupted"
        cancels = [e for e in run["lifecycle"] if e["event"].startswith("cancel requested")]
        assert len(cancels) == 1, run["lifecycle"]


def test_a_scale_out_search_by_status_finds_every_match(
    tmp_path: Path, pg_dsn: str, redis_url: str
) -> None:
    """10,005 threads whose latest run failed, the oldest five past 10,000."""
    with running_cluster(tmp_path, pg_dsn, redis_url, apis=1, workers=1) as cluster:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO scopegraph_queue_threads (thread_id, metadata, listed, created_at)"
                " SELECT 'bulk-' || i, '{\"bulk\": true}'::jsonb, TRUE,"
                " now() - make_interval(secs => i) FROM generate_series(1, 10005) i"
            )
            conn.execute(
                "INSERT INTO scopegraph_queue_runs (run_id, thread_id, multitask_strategy,"
                " status, run) SELECT 'bulk-run-' || i, 'bulk-' || i, 'enqueue', 'error',"
                " '{}'::jsonb FROM generate_series(1, 10005) i"
            )
        with httpx.Client(base_url=cluster.apis[0], timeout=120) as http:
            search = {"metadata": {"bulk": True}, "status": "error", "offset": 10_000}
            found = ok(http.post("/threads/search", json=search))
            assert [t["thread_id"] for t in found] == [f"bulk-{i}" for i in range(10_001, 10_006)]
            assert {t["status"] for t in found} == {"error"}
            # idle and interrupted: the checkpoint tells, page by page past the errors
            never_ran = ok(http.post("/threads", json={}))["thread_id"]
            done = ok(http.post("/threads", json={}))["thread_id"]
            ok(http.post(f"/threads/{done}/runs/wait", json={"assistant_id": "agent", "input": {}}))
            asking = ok(http.post("/threads", json={}))["thread_id"]
            approval = {"assistant_id": "approval", "input": {"draft": "hello"}}
            ok(http.post(f"/threads/{asking}/runs/wait", json=approval))
            idle = ok(http.post("/threads/search", json={"status": "idle"}))
            assert [t["thread_id"] for t in idle] == [done, never_ran]
            idle = ok(http.post("/threads/search", json={"status": "idle", "offset": 1}))
            assert [t["thread_id"] for t in idle] == [never_ran]
            waiting = ok(http.post("/threads/search", json={"status": "interrupted"}))
            assert [t["thread_id"] for t in waiting] == [asking]


# -- a store written by an earlier release -----------------------------------------------

OLD_TABLE = (
    "CREATE TABLE scopegraph_server_documents (kind TEXT NOT NULL, id TEXT NOT NULL, "
    "thread_id TEXT, body {blob} NOT NULL, PRIMARY KEY (kind, id))"
)


def old_documents() -> list[tuple[str, str, str | None, bytes]]:
    thread = {
        "thread_id": "t1",
        "created_at": "2026-01-01T00:00:00+00:00",
        "metadata": {"user": "ann"},
        "status": "busy",  # its process crashed
    }
    run = {
        "run_id": "r1",
        "thread_id": "t1",
        "created_at": "2026-01-01T00:00:01+00:00",
        "status": "success",
        "metadata": {},
    }
    return [
        ("thread", "t1", "t1", orjson.dumps(thread)),
        ("run", "r1", "t1", orjson.dumps(run)),
    ]


async def read_back(target: str) -> None:
    docs = Documents(open_backend(target))
    try:
        docs.load()
        (thread,) = await docs.threads({"user": "ann"}, None, 10, 0)
        assert thread["status"] == "error"  # marked on load: its process is gone
        assert await docs.threads({"user": "bob"}, None, 10, 0) == []
        assert [r["run_id"] for r in await docs.runs("t1", "success", 10, 0)] == ["r1"]
    finally:
        docs.close()


@pytest.mark.anyio
async def test_a_sqlite_store_of_an_earlier_release_is_read(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_TABLE.format(blob="BLOB"))
        insert = "INSERT INTO scopegraph_server_documents VALUES (?, ?, ?, ?)"
        conn.executemany(insert, old_documents())
    conn.close()
    await read_back(str(path))


@pytest.mark.anyio
async def test_a_postgres_store_of_an_earlier_release_is_read(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(OLD_TABLE.format(blob="BYTEA"))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO scopegraph_server_documents VALUES (%s, %s, %s, %s)", old_documents()
            )
    params = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    await read_back(
        f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
    )
