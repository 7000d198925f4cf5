"""Concurrent changes of one thread are all kept by the run server's store.

Issue 13 (left over from item 2's work): on PostgreSQL the one-process server changed a
thread by reading its document and writing the whole document back. A run ending (its
thread's status) and a ``PATCH /threads/{id}`` (its metadata) at the same time both read
the old document, and the second write lost the first one's change. Now each change is
one atomic update of the stored document (``Documents.update``: the row is locked from
the read to the write), and creating a document never overwrites one created meanwhile
(``Documents.insert``).

The race is made deterministic with PostgreSQL's own locks: the test holds the thread's
row lock while the run ends and the PATCH arrives, waits until both writers are blocked
on it (``pg_stat_activity``), then lets them go.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest

import _pg
from _server import running_server
from scopegraph.server._store import Documents, open_backend
from test_server_postgres_reconnect import as_url

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

RUN = {"assistant_id": "agent", "input": {"prompt": "race"}, "stream_mode": ["custom"]}


def waiting_on_locks(conn: psycopg.Connection[Any]) -> int:
    """How many of the server's store connections wait for a row lock."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'scopegraph-server' "
        "AND wait_event_type = 'Lock'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def wait_for_waiters(conn: psycopg.Connection[Any], count: int, what: str) -> None:
    deadline = time.monotonic() + 30
    while waiting_on_locks(conn) < count:
        assert time.monotonic() < deadline, f"{what} never reached the thread's row"
        time.sleep(0.02)


@pytest.mark.timeout(120)
def test_a_patch_while_the_threads_run_ends_is_kept(pg_server: str, tmp_path: Path) -> None:
    dsn = _pg.create_database(pg_server)
    with (
        running_server(tmp_path, db=as_url(dsn), interval=0.02) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
        psycopg.connect(dsn, autocommit=True) as watcher,
        psycopg.connect(dsn) as locker,
    ):
        thread_id = http.post("/threads", json={"metadata": {"owner": "a"}}).json()["thread_id"]
        streamed: list[str] = []
        first_token = threading.Event()

        def stream() -> None:
            with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=RUN) as events:
                for line in events.iter_lines():
                    streamed.append(line)
                    if line.startswith("event: custom"):
                        first_token.set()

        streaming = threading.Thread(target=stream)
        streaming.start()
        assert first_token.wait(30), "the run never streamed"

        # Hold the thread's row: the run's end and the PATCH must both wait for it.
        status = locker.execute(
            "SELECT status FROM scopegraph_server_documents WHERE kind = 'thread' "
            "AND id = %s FOR UPDATE",
            (thread_id,),
        ).fetchone()
        assert status == ("busy",), f"the run ended before the lock was taken: {status}"
        wait_for_waiters(watcher, 1, "the run's end")

        patched: list[httpx.Response] = []
        patching = threading.Thread(
            target=lambda: patched.append(
                http.patch(f"/threads/{thread_id}", json={"metadata": {"reviewed": True}})
            )
        )
        patching.start()
        wait_for_waiters(watcher, 2, "the PATCH")
        locker.rollback()  # both go, one after the other

        patching.join(30)
        streaming.join(30)
        assert not patching.is_alive()
        assert not streaming.is_alive()
        assert patched[0].status_code == 200, patched[0].text
        assert "event: error" not in streamed

        thread = http.get(f"/threads/{thread_id}").json()
        assert thread["status"] == "idle"  # the run's end was kept
        assert thread["metadata"]["reviewed"] is True  # and so was the PATCH
        assert thread["metadata"]["owner"] == "a"
        listed = http.post("/threads/search", json={"metadata": {"reviewed": True}}).json()
        assert [t["thread_id"] for t in listed] == [thread_id]


# -- the store itself, on both databases and both backends --------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def docs(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        target = str(tmp_path / "server.db")
    else:
        target = as_url(_pg.create_database(request.getfixturevalue("pg_server")))
    store = Documents(open_backend(target))
    store.load()
    yield store
    store.close()


@pytest.mark.anyio
async def test_concurrent_updates_of_one_document_are_all_kept(docs: Documents) -> None:
    await docs.save("thread", {"thread_id": "t", "metadata": {}, "status": "idle"})

    async def add(key: str) -> None:
        def change(doc: dict[str, Any]) -> dict[str, Any]:
            return {**doc, "metadata": {**doc["metadata"], key: True}}

        assert await docs.update("thread", "t", change) is not None

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(add, f"k{i}")
    stored = await docs.get("thread", "t")
    assert stored is not None
    assert stored["metadata"] == {f"k{i}": True for i in range(12)}
    # and in the column the searches filter on
    assert [t["thread_id"] for t in await docs.threads({"k3": True}, None, 10, 0)] == ["t"]


@pytest.mark.anyio
async def test_update_of_a_missing_document_changes_nothing(docs: Documents) -> None:
    def change(doc: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("called for a document that does not exist")

    assert await docs.update("thread", "gone", change) is None
    assert await docs.get("thread", "gone") is None


@pytest.mark.anyio
async def test_insert_never_overwrites(docs: Documents) -> None:
    assert await docs.insert("thread", {"thread_id": "t", "metadata": {"first": 1}})
    assert not await docs.insert("thread", {"thread_id": "t", "metadata": {"second": 2}})
    stored = await docs.get("thread", "t")
    assert stored is not None
    assert stored["metadata"] == {"first": 1}
