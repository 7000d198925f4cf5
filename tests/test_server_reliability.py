"""Issue 13: the run server never loses data or wedges (items 1, 12, 5, 6).

Real ``scopegraph serve`` processes (``tests/_server.py``) on SQLite and on a throwaway
PostgreSQL server (``tests/_pg.py``), driven over HTTP. The server runs on asyncio
(uvicorn), so these are plain sync tests.

Item 1: rolling back a queued run (``action=rollback``, or ``multitask_strategy=rollback``
while runs are queued) removes the pending run and nothing else: the thread's history is
intact and the run executing at that moment is not disturbed.

Item 12: a stateless run's ``Content-Location`` (and its stream's ``Location``) is a path
that answers while the run is known: under its temporary thread, as LangGraph's server
sends it (it used to be ``/runs/{id}``, which answers 404), in one process and scale-out.

Item 5: a run create whose record cannot be saved (the store's PostgreSQL server is down)
fails as a whole: nothing of the run is left to wait for, so once PostgreSQL is back the
thread takes runs again (``reject`` is not refused, a queued run is not stuck), and the
server still shuts down on SIGTERM.

Item 6: deleting a thread is final. While ``DELETE /threads/{id}`` waits for the thread's
active run (its shielded cleanup), a new run on the thread is refused with 409, and once
the deletion is done the thread stays gone (a finishing run never re-creates it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url


def as_url(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


@pytest.fixture
def http(any_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=any_url, timeout=60) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


def new_thread(http: httpx.Client) -> str:
    return str(ok(http.post("/threads", json={}))["thread_id"])


def start(http: httpx.Client, tid: str, prompt: str, **options: Any) -> dict[str, Any]:
    body = {"assistant_id": "agent", "input": {"prompt": prompt}, **options}
    run: dict[str, Any] = ok(http.post(f"/threads/{tid}/runs", json=body))
    return run


def until_running(http: httpx.Client, tid: str, run_id: str) -> None:
    """Wait until the run has written a checkpoint of its own (it is executing)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if run_id in {s["metadata"].get("run_id") for s in history(http, tid)}:
            return
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} never started")


def history(http: httpx.Client, tid: str) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = ok(http.post(f"/threads/{tid}/history", json={"limit": 1000}))
    return states


def checkpoint_ids(states: list[dict[str, Any]]) -> list[str]:
    return [s["checkpoint"]["checkpoint_id"] for s in states]


def runs_of(states: list[dict[str, Any]]) -> set[str]:
    return {s["metadata"].get("run_id") for s in states}


def finished_thread(http: httpx.Client) -> tuple[str, list[str]]:
    """A thread with one finished run; its checkpoint ids."""
    tid = new_thread(http)
    ok(
        http.post(
            f"/threads/{tid}/runs/wait",
            json={"assistant_id": "agent", "input": {"prompt": "first"}},
        )
    )
    before = checkpoint_ids(history(http, tid))
    assert before
    return tid, before


def test_rollback_of_a_queued_run_keeps_the_history(http: httpx.Client) -> None:
    tid, before = finished_thread(http)
    a = start(http, tid, "a")
    until_running(http, tid, a["run_id"])
    b = start(http, tid, "b", multitask_strategy="enqueue")
    assert b["status"] == "pending"
    ok(http.post(f"/threads/{tid}/runs/{b['run_id']}/cancel?action=rollback&wait=true"))
    # The pending run is simply removed; nothing of the thread's history went with it.
    assert http.get(f"/threads/{tid}/runs/{b['run_id']}").status_code == 404
    now = checkpoint_ids(history(http, tid))
    assert set(before) <= set(now), "rolling back a queued run deleted the thread's history"
    # The run executing at that moment is untouched.
    ok(http.get(f"/threads/{tid}/runs/{a['run_id']}/join"))
    assert ok(http.get(f"/threads/{tid}/runs/{a['run_id']}"))["status"] == "success"
    after = history(http, tid)
    assert checkpoint_ids(after)[-len(before) :] == before
    assert a["run_id"] in runs_of(after)
    assert b["run_id"] not in runs_of(after)
    state = ok(http.get(f"/threads/{tid}/state"))
    assert state["values"]["prompt"] == "a"


def test_multitask_rollback_with_queued_runs(http: httpx.Client) -> None:
    tid, before = finished_thread(http)
    a = start(http, tid, "a")
    until_running(http, tid, a["run_id"])
    b = start(http, tid, "b", multitask_strategy="enqueue")
    c = start(http, tid, "c", multitask_strategy="rollback")
    ok(http.get(f"/threads/{tid}/runs/{c['run_id']}/join"))
    assert ok(http.get(f"/threads/{tid}/runs/{c['run_id']}"))["status"] == "success"
    for gone in (a, b):  # rolled back: deleted, and nothing they wrote is left
        assert http.get(f"/threads/{tid}/runs/{gone['run_id']}").status_code == 404
    after = history(http, tid)
    assert checkpoint_ids(after)[-len(before) :] == before
    assert runs_of(after) - runs_of(
        [s for s in after if s["checkpoint"]["checkpoint_id"] in before]
    ) == {c["run_id"]}
    assert ok(http.get(f"/threads/{tid}/state"))["values"]["prompt"] == "c"


def test_multitask_interrupt_with_queued_runs(http: httpx.Client) -> None:
    tid, before = finished_thread(http)
    a = start(http, tid, "a")
    until_running(http, tid, a["run_id"])
    b = start(http, tid, "b", multitask_strategy="enqueue")
    c = start(http, tid, "c", multitask_strategy="interrupt")
    ok(http.get(f"/threads/{tid}/runs/{c['run_id']}/join"))
    assert ok(http.get(f"/threads/{tid}/runs/{c['run_id']}"))["status"] == "success"
    assert ok(http.get(f"/threads/{tid}/runs/{a['run_id']}"))["status"] == "interrupted"
    assert ok(http.get(f"/threads/{tid}/runs/{b['run_id']}"))["status"] == "interrupted"
    after = history(http, tid)
    assert checkpoint_ids(after)[-len(before) :] == before
    assert {a["run_id"], c["run_id"]} <= runs_of(after)


def test_a_run_queued_after_a_cancelled_queued_run_waits_for_the_running_one(
    http: httpx.Client,
) -> None:
    tid, before = finished_thread(http)
    a = start(http, tid, "a")
    until_running(http, tid, a["run_id"])
    b = start(http, tid, "b", multitask_strategy="enqueue")
    ok(http.post(f"/threads/{tid}/runs/{b['run_id']}/cancel?action=interrupt&wait=true"))
    # A is still running: the thread is busy, a new run waits for A, `reject` refuses.
    assert ok(http.get(f"/threads/{tid}"))["status"] == "busy"
    refused = http.post(
        f"/threads/{tid}/runs",
        json={"assistant_id": "agent", "input": {"prompt": "x"}, "multitask_strategy": "reject"},
    )
    assert refused.status_code == 409, refused.text
    d = start(http, tid, "d", multitask_strategy="enqueue")
    assert ok(http.get(f"/threads/{tid}/runs/{d['run_id']}"))["status"] == "pending"
    ok(http.get(f"/threads/{tid}/runs/{d['run_id']}/join"))
    one = ok(http.get(f"/threads/{tid}/runs/{a['run_id']}"))
    four = ok(http.get(f"/threads/{tid}/runs/{d['run_id']}"))
    assert (one["status"], four["status"]) == ("success", "success")
    states = history(http, tid)
    of_a = [s["created_at"] for s in states if s["metadata"].get("run_id") == a["run_id"]]
    of_d = [s["created_at"] for s in states if s["metadata"].get("run_id") == d["run_id"]]
    assert min(of_d) >= max(of_a), "the queued run ran alongside the running one"
    assert checkpoint_ids(states)[-len(before) :] == before


@pytest.fixture(params=["sqlite", "postgres", "scale-out"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a server: single-process on SQLite or PostgreSQL, or a scale-out API
    process with one worker."""
    if request.param == "scale-out":
        db, redis = request.getfixturevalue("pg_dsn"), request.getfixturevalue("redis_url")
        with running_cluster(tmp_path, db, redis, apis=1, workers=1, interval=0.03) as cluster:
            yield cluster.apis[0]
        return
    db = None
    if request.param == "postgres":
        db = as_url(_pg.create_database(request.getfixturevalue("pg_server")))
    with running_server(tmp_path, db=db, interval=0.03, cleanup=0.05) as server:
        yield server.url


def test_a_stateless_runs_location_answers(any_url: str) -> None:
    body = {"assistant_id": "agent", "input": {"prompt": "where"}}
    with httpx.Client(base_url=any_url, timeout=60) as http:
        created = http.post("/runs", json=body)
        run = ok(created)
        location = created.headers["content-location"]
        assert location == f"/threads/{run['thread_id']}/runs/{run['run_id']}"
        found = ok(http.get(location))  # while the run is known, its location answers
        assert found["run_id"] == run["run_id"]
        ok(http.get(f"{location}/join"))
        # A streamed stateless run: its stream can be rejoined at Location.
        with http.stream("POST", "/runs/stream", json={**body, "stream_mode": "custom"}) as sse:
            assert sse.status_code == 200
            content, rejoin = sse.headers["content-location"], sse.headers["location"]
            assert rejoin == f"{content}/stream"
            lines = sse.iter_lines()
            for line in lines:
                if line.startswith("event: custom"):
                    break
            assert ok(http.get(content))["status"] == "running"
            with http.stream("GET", rejoin) as again:
                assert again.status_code == 200
                events = [line for line in again.iter_lines() if line.startswith("event:")]
            # the rest of the run's tokens, then the stream closed (no `end`, no error)
            assert "event: custom" in events
            assert "event: end" not in events
            assert "event: error" not in events
            for _ in lines:
                pass


@pytest.mark.timeout(240)
def test_a_failed_run_create_leaves_nothing_behind(tmp_path: Path) -> None:
    with _pg.running_pg_server() as pg:
        db = as_url(_pg.create_database(pg.dsn()))
        with (
            running_server(tmp_path, db=db, interval=0.01, cleanup=0.01) as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            tid = new_thread(http)
            body = {"assistant_id": "agent", "input": {"prompt": "x"}}
            pg.stop(mode="fast")
            failed = http.post(f"/threads/{tid}/runs", json=body)
            assert failed.status_code == 503, failed.text
            pg.start_again()
            deadline = time.monotonic() + 60
            while True:  # the store reconnects by itself
                response = http.post(
                    f"/threads/{tid}/runs", json={**body, "multitask_strategy": "reject"}
                )
                if response.status_code < 500 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            # The failed run is not in the way: the thread is not busy with it.
            run = ok(response)
            ok(http.get(f"/threads/{tid}/runs/{run['run_id']}/join"))
            assert ok(http.get(f"/threads/{tid}/runs/{run['run_id']}"))["status"] == "success"
            listed = ok(http.get(f"/threads/{tid}/runs"))
            assert [r["run_id"] for r in listed] == [run["run_id"]]
            assert ok(http.get(f"/threads/{tid}"))["status"] == "idle"
        assert server.process.returncode == 0


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_deleted_thread_stays_deleted(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db = None
    if store == "postgres":
        db = as_url(_pg.create_database(request.getfixturevalue("pg_server")))
    # A long shielded cleanup: DELETE waits for it.
    with (
        running_server(tmp_path, db=db, interval=0.03, cleanup=1.5) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        tid = new_thread(http)
        a = start(http, tid, "a")
        until_running(http, tid, a["run_id"])
        deleted: list[httpx.Response] = []
        deleting = threading.Thread(target=lambda: deleted.append(http.delete(f"/threads/{tid}")))
        deleting.start()
        deadline = time.monotonic() + 30
        while f"cleanup-start think {a['run_id']}" not in server.cleanups():
            assert time.monotonic() < deadline, "DELETE did not cancel the active run"
            time.sleep(0.01)
        # DELETE is waiting for the run's cleanup: the thread takes no new run.
        refused = http.post(
            f"/threads/{tid}/runs",
            json={"assistant_id": "agent", "input": {"prompt": "b"}},
        )
        deleting.join(60)
        assert refused.status_code == 409, refused.text
        assert "being deleted" in refused.json()["message"]
        assert deleted[0].status_code == 204, deleted[0].text
        assert f"cleanup-done think {a['run_id']}" in server.cleanups()
        assert http.get(f"/threads/{tid}").status_code == 404
        assert tid not in {t["thread_id"] for t in ok(http.post("/threads/search", json={}))}
        assert http.post(f"/threads/{tid}/history", json={}).status_code == 404
