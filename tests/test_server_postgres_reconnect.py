"""The run server's thread/run store on PostgreSQL survives losing its connections.

Issue 13, item 3: ``scopegraph serve --db postgresql://...`` kept its threads and runs
on ONE connection, so after that connection dropped (``pg_terminate_backend``, a server
restart, a network blip) every create answered 500 forever. Now the store uses the
pooled, checked connections of ``scopegraph._postgres``: while PostgreSQL is down a
request gets a 5xx within the pool's timeout (no hang), and once it is back threads and
runs are created again. Real processes: a ``scopegraph serve`` (``tests/_server.py``) on
a throwaway PostgreSQL server (``tests/_pg.py``), driven over HTTP.

The server runs on asyncio (uvicorn), so these tests are plain sync tests. The store
itself, on asyncio and trio, is covered by the ``Documents`` tests at the end.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

import _pg
from _server import running_server
from scopegraph.server._store import Documents, StoreConnectionError, StoreError, open_backend

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

RUN = {"assistant_id": "agent", "input": {"prompt": "again"}}
DOWN_BOUND = 20.0
"""Seconds within which a request must be answered while PostgreSQL is down (the store's
pool waits 5 s for a connection)."""


def as_url(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


def terminate_connections(dsn: str) -> int:
    """pg_terminate_backend every other connection to the database; how many."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def create_thread(http: httpx.Client) -> str:
    response = http.post("/threads", json={"metadata": {"test": "reconnect"}})
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


def run_to_the_end(http: httpx.Client, thread_id: str, runs: int = 1) -> dict[str, Any]:
    """A run on the thread, waited for; ``runs``: how many the thread has had with it."""
    response = http.post(f"/threads/{thread_id}/runs/wait", json=RUN)
    assert response.status_code == 200, response.text
    values: dict[str, Any] = response.json()
    assert len(values["tokens"]) == 32 * runs  # each run adds its 32 tokens
    return values


def no_database_words(response: httpx.Response, port: int) -> None:
    """The response tells the client nothing of the database's own error text (issue 13,
    item 10): not the driver, the server's address, or what the connection did."""
    text = response.text.lower()
    for word in ("psycopg", "connection", "127.0.0.1", str(port), "postgres", "refused"):
        assert word not in text, (word, response.text)


def created_again(http: httpx.Client, deadline: float) -> str:
    """A thread created once PostgreSQL is back (the pool reconnects in the background,
    so the first attempts may still meet its back-off)."""
    while True:
        response = http.post("/threads", json={})
        if response.status_code == 200:
            return str(response.json()["thread_id"])
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, f"no recovery: {response.text}"
        time.sleep(0.2)


@pytest.mark.timeout(120)
def test_threads_and_runs_are_created_after_the_servers_connections_are_terminated(
    pg_server: str, tmp_path: Path
) -> None:
    dsn = _pg.create_database(pg_server)
    with (
        running_server(tmp_path, db=as_url(dsn), interval=0.001) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        before = create_thread(http)
        run_to_the_end(http, before)

        assert terminate_connections(dsn) >= 1  # the store's, and the checkpointer's

        # The first request after the drop meets a dead connection and is retried on a
        # fresh one: no 500, no lost write.
        after = create_thread(http)
        assert http.get(f"/threads/{after}").json()["metadata"] == {"test": "reconnect"}
        run_to_the_end(http, after)
        runs = http.get(f"/threads/{after}/runs").json()
        assert [r["status"] for r in runs] == ["success"]
        run_to_the_end(http, before, runs=2)
        assert http.get(f"/threads/{before}").status_code == 200


@pytest.mark.timeout(180)
def test_requests_get_a_5xx_while_postgresql_is_down_and_succeed_after_it_restarts(
    tmp_path: Path,
) -> None:
    with _pg.running_pg_server() as pg:
        dsn = _pg.create_database(pg.dsn())
        with (
            running_server(tmp_path, db=as_url(dsn), interval=0.001) as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            before = create_thread(http)
            run_to_the_end(http, before)

            pg.stop(mode="fast")  # every connection is dropped, no commit is lost
            # a read of the checkpoints, and a write of a thread, twice each
            for method, path in [("GET", f"/threads/{before}/state"), ("POST", "/threads")] * 2:
                started = time.monotonic()
                response = http.request(method, path, json={} if method == "POST" else None)
                no_database_words(response, pg.port)
                assert time.monotonic() - started < DOWN_BOUND
                assert response.status_code >= 500, response.text
                # the database's own words are in the server's log, under the request's id
                request_id = response.headers["x-request-id"]
                assert f"request id {request_id}" in response.json()["message"]
                assert f"request {request_id}: {method} {path} failed" in server.log()

            pg.start_again()
            after = created_again(http, time.monotonic() + 60)
            run_to_the_end(http, after)
            # and nothing of the refused creates was kept (not even in memory)
            listed = http.post("/threads/search", json={}).json()
            assert {t["thread_id"] for t in listed} == {before, after}
            run_to_the_end(http, before, runs=2)


# -- the store itself, on both backends ---------------------------------------------------


@pytest.mark.anyio
async def test_documents_reconnect_after_terminate(pg_dsn: str) -> None:
    docs = Documents(open_backend(as_url(pg_dsn)))
    docs.load()
    try:
        await docs.save("thread", {"thread_id": "t1", "metadata": {}})
        assert terminate_connections(pg_dsn) >= 1
        await docs.save("thread", {"thread_id": "t2", "metadata": {}})
        await docs.delete("thread", "t1")
    finally:
        docs.close()
    again = Documents(open_backend(as_url(pg_dsn)))
    again.load()
    try:
        assert [t["thread_id"] for t in await again.threads(None, None, 10, 0)] == ["t2"]
    finally:
        again.close()


@pytest.mark.anyio
async def test_documents_raise_store_connection_error_and_keep_nothing_when_down() -> None:
    with _pg.running_pg_server() as pg:
        dsn = _pg.create_database(pg.dsn())
        docs = Documents(open_backend(as_url(dsn)))
        docs.load()
        try:
            await docs.save("thread", {"thread_id": "t1", "metadata": {}})
            pg.stop("fast")  # flushed: t1 is read back once the server is up again
            with pytest.raises(StoreConnectionError, match="thread/run store"):
                await docs.save("thread", {"thread_id": "t2", "metadata": {}})
            pg.start_again()
            assert [t["thread_id"] for t in await docs.threads(None, None, 10, 0)] == ["t1"]
        finally:
            docs.close()


def test_a_sqlite_store_that_cannot_be_opened_raises_store_error_naming_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(StoreError, match=f"SQLite database '{tmp_path}' failed"):
        open_backend(str(tmp_path))  # a directory, not a database file
