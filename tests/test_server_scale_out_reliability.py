"""Issue 13 items 6 and 7 in scale-out: a scale-out API process with one worker (real
``scopegraph serve --redis`` and ``scopegraph worker`` processes, PostgreSQL and Redis),
driven over HTTP.

Item 6: deleting a thread is final in every process. While ``DELETE /threads/{id}`` waits
for the thread's running run (its shielded cleanup), the thread is ``deleting`` in the
run queue: a new run on it is refused with 409 (it used to be queued, run after the
deletion and write checkpoints to the deleted thread), and once the deletion is done the
thread stays gone.

Item 7: ``Last-Event-ID`` on a run's stream: ``-1`` replays the run's events from the
start; a value that is not an event id of the stream (non-ASCII digits, a number longer
than Python's int-parsing limit, garbage) is a 422 naming the header; a cursor past the end
is clamped and changes nothing for another listener of the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import _pg
import _redis
from _cluster import Cluster, running_cluster

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


@pytest.fixture
def cluster(tmp_path: Path, pg_dsn: str, redis_url: str) -> Iterator[Cluster]:
    with running_cluster(
        tmp_path, pg_dsn, redis_url, apis=1, workers=1, interval=0.03, cleanup=1.5
    ) as running:
        yield running


@pytest.fixture
def slow_cluster(tmp_path: Path, pg_dsn: str, redis_url: str) -> Iterator[Cluster]:
    """Nodes that take seconds (0.5 s a token): a DELETE sent once the run is running
    reaches it while a node runs, even on a loaded machine."""
    with running_cluster(
        tmp_path, pg_dsn, redis_url, apis=1, workers=1, interval=0.5, cleanup=1.5
    ) as running:
        yield running


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_deleted_thread_stays_deleted_in_scale_out(slow_cluster: Cluster) -> None:
    cluster = slow_cluster
    with httpx.Client(base_url=cluster.apis[0], timeout=60) as http:
        tid = ok(http.post("/threads", json={}))["thread_id"]
        body = {"assistant_id": "agent", "input": {"prompt": "a"}}
        a = ok(http.post(f"/threads/{tid}/runs", json={**body, "stream_mode": ["custom"]}))
        a = a["run_id"]
        # The DELETE must come once a node runs: a run's status is "running" from its claim,
        # before its first node starts, and a run cancelled then has no cleanup to log (that
        # race, not the server, made this test fail in about half of the runs until
        # 2026-12-07). A node's first token is written inside its try/finally.
        first_token(http, f"/threads/{tid}/runs/{a}/stream")
        deleted: list[httpx.Response] = []
        deleting = threading.Thread(target=lambda: deleted.append(http.delete(f"/threads/{tid}")))
        deleting.start()
        wait_for(lambda: bool(cluster.cleanups(a)), "DELETE did not cancel")
        node = cluster.cleanups(a)[0].split()[1]  # the node running when DELETE came
        # DELETE waits for the run's cleanup (1.5 s): the thread takes no new run.
        refused = http.post(f"/threads/{tid}/runs", json={**body, "input": {"prompt": "b"}})
        created = http.post(f"/threads/{tid}/runs/wait", json={**body, "if_not_exists": "create"})
        deleting.join(60)
        assert refused.status_code == 409, refused.text
        assert "being deleted" in refused.json()["message"]
        assert created.status_code == 409, created.text
        assert deleted[0].status_code == 204, deleted[0].text
        assert cluster.cleanups(a) == [f"cleanup-start {node}", f"cleanup-done {node}"]
        assert http.get(f"/threads/{tid}").status_code == 404
        assert tid not in {t["thread_id"] for t in ok(http.post("/threads/search", json={}))}
        assert http.post(f"/threads/{tid}/history", json={}).status_code == 404
        assert http.post(f"/threads/{tid}/runs", json=body).status_code == 404


def first_token(http: httpx.Client, path: str) -> None:
    """Follow the run's stream until its first custom event (a node's first token)."""
    with http.stream("GET", path, headers={"Last-Event-ID": "-1"}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line == "event: custom":
                return
    raise AssertionError("the run ended before its first token")


def stream(http: httpx.Client, path: str, last_event_id: str) -> list[tuple[str, str]]:
    """(id, event) of each event of the stream."""
    events: list[tuple[str, str]] = []
    event_id = event = ""
    headers = {"Last-Event-ID": last_event_id}
    with http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                event = line[7:]
            elif not line and event:
                events.append((event_id, event))
                event_id = event = ""
    return events


def test_last_event_id_in_scale_out(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.apis[0], timeout=60) as http:
        tid = ok(http.post("/threads", json={}))["thread_id"]
        body = {"assistant_id": "agent", "input": {"prompt": "a"}, "stream_mode": ["custom"]}
        run_id = ok(http.post(f"/threads/{tid}/runs", json=body))["run_id"]
        ok(http.get(f"/threads/{tid}/runs/{run_id}/join"))
        path = f"/threads/{tid}/runs/{run_id}/stream"

        everything = stream(http, path, "-1")  # from the start
        names = [event for _, event in everything]
        assert names[0] == "metadata"
        assert "end" not in names  # the stream closes, as LangGraph's server closes it
        assert names.count("custom") >= 8  # every token of the run, in order
        ids = [event_id for event_id, _ in everything]
        assert all(ids)
        assert len(set(ids)) == len(ids)

        # from the middle: exactly the events after it
        middle = len(ids) // 2
        assert stream(http, path, ids[middle]) == everything[middle + 1 :]

        # past the end (same stream, a later number): clamped, nothing
        epoch, n = ids[-1].split("-")
        assert stream(http, path, f"{epoch}-{int(n) + 1000}") == []
        assert stream(http, path, "-1") == everything  # nothing changed for anyone else

        for bad in ("²", "1" * 5000, "1" * 25 + "-1", "abc", "-2", "1-²"):
            response = http.get(path, headers={b"Last-Event-ID": bad.encode()})
            assert response.status_code == 422, (bad[:30], response.text)
            assert "Last-Event-ID" in response.json()["message"]
