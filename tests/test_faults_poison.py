"""Poison values never reach the stores (issue 13, item 4), and a bounded fuzz.

Values the stores or the server's JSON encoder cannot keep or give back unchanged
(integers outside 64 bits, nesting deeper than the server takes, unpaired surrogates,
NaN and Infinity, floats PostgreSQL changes, the NUL character) used to be stored, or
kept in memory, and then failed every read (``/threads/search`` answered 500 to every
client; through ``POST /threads/{id}/state`` the value reached the checkpoint and
survived a restart). Now every endpoint that stores client data answers 422 naming the
JSON path of the bad value, and nothing of the request is kept: every read still works,
before and after a restart.

Real ``scopegraph serve`` processes on SQLite and PostgreSQL, and a scale-out API
process with a worker (PostgreSQL and Redis), driven over HTTP with raw JSON bodies (so
that the poison is exactly what a client can send). The fuzz (hypothesis, bounded) posts
arbitrary JSON to the storing endpoints and asserts no 5xx and that every thread stays
readable. The server runs on asyncio (uvicorn), so these are plain sync tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

DEEP = "[" * 250 + "]" * 250
POISONS = {
    "int over 64 bits": ("1180591620717411303424", "64-bit"),
    "int under 64 bits": ("-9223372036854775809", "64-bit"),
    "NaN": ("NaN", "NaN"),
    "Infinity": ("-Infinity", "Infinity"),
    "unpaired surrogate": ('"ab\\ud800"', "surrogate"),
    "surrogate in a key": ('{"\\udc00": 1}', "surrogate"),
    "NUL": ('"a\\u0000b"', "NUL"),
    "negative zero": ("-0.0", "-0.0"),
    "a float PostgreSQL makes an integer": ("1e16", "PostgreSQL"),
    "nesting too deep": (DEEP, "nested deeper"),
}
"""name -> (raw JSON of the value, a word of the 422's message)."""


P = "@POISON@"


def raw_body(body: dict[str, Any], poison: str) -> str:
    """``body`` as JSON, with the raw JSON ``poison`` where it says ``P``."""
    return json.dumps(body).replace(f'"{P}"', poison)


def requests(tid: str, poison: str) -> list[tuple[str, str, str, str]]:
    """(method, path, raw body, the JSON path the 422 must name) of every storing
    endpoint, with ``poison`` where the client's data goes."""
    run = {"assistant_id": "agent"}
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/threads", {"metadata": {"tag": P}}, "metadata.tag"),
        ("PATCH", f"/threads/{tid}", {"metadata": {"tag": P}}, "metadata.tag"),
        ("POST", f"/threads/{tid}/state", {"values": {"prompt": P}}, "values.prompt"),
        ("POST", f"/threads/{tid}/runs", {**run, "input": {"prompt": P}}, "input.prompt"),
        ("POST", f"/threads/{tid}/runs/stream", {**run, "input": {"x": [P]}}, "input.x[0]"),
        ("POST", f"/threads/{tid}/runs/wait", {**run, "metadata": {"m": P}}, "metadata.m"),
        ("POST", "/runs/wait", {**run, "config": {"tags": [P]}}, "config.tags[0]"),
        ("POST", f"/threads/{tid}/runs", {**run, "context": {"k": P}}, "context.k"),
        ("POST", f"/threads/{tid}/runs", {**run, "command": {"resume": P}}, "command.resume"),
        ("POST", f"/threads/{tid}/runs", {**run, "input": {}, "kwarg": P}, "kwarg"),
    ]  # fmt: skip
    return [(method, path, raw_body(body, poison), where) for method, path, body, where in cases]


def as_url(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


def send(http: httpx.Client, method: str, path: str, body: str) -> httpx.Response:
    headers = {"content-type": "application/json"}
    return http.request(method, path, content=body.encode("utf-8"), headers=headers)


def everything_reads(http: httpx.Client, tids: list[str]) -> None:
    """Every read a client makes answers 200 (nothing poisoned is stored)."""
    ok(http.post("/threads/search", json={"limit": 1000}))
    for tid in tids:
        ok(http.get(f"/threads/{tid}"))
        ok(http.get(f"/threads/{tid}/state"))
        ok(http.post(f"/threads/{tid}/history", json={"limit": 1000}))
        for run in ok(http.get(f"/threads/{tid}/runs", params={"limit": 1000})):
            ok(http.get(f"/threads/{tid}/runs/{run['run_id']}"))


def poison_every_endpoint(http: httpx.Client) -> list[str]:
    tid = ok(http.post("/threads", json={"metadata": {"kind": "poisoned"}}))["thread_id"]
    ok(http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": {}}))
    for name, (raw, word) in POISONS.items():
        for method, path, body, where in requests(tid, raw):
            response = send(http, method, path, body)
            assert response.status_code == 422, (name, path, response.text)
            message = response.json()["message"]
            assert message.startswith(f"{where}"), (name, path, message)
            assert word in message, (name, path, message)
    metadata = ok(http.get(f"/threads/{tid}"))["metadata"]
    # nothing poisoned was kept: the metadata is what the thread and its one run set
    assistant_id = ok(http.get("/assistants/agent"))["assistant_id"]
    assert metadata == {"kind": "poisoned", "graph_id": "agent", "assistant_id": assistant_id}
    everything_reads(http, [tid])
    return [tid]


@pytest.fixture(params=["sqlite", "postgres", "scale-out"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(request.param)


def test_poison_values_are_refused_at_every_storing_endpoint_and_reads_survive(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "scale-out":
        db, redis = request.getfixturevalue("pg_dsn"), request.getfixturevalue("redis_url")
        with (
            running_cluster(tmp_path, db, redis, apis=1, workers=1, interval=0.01) as cluster,
            httpx.Client(base_url=cluster.apis[0], timeout=60) as http,
        ):
            poison_every_endpoint(http)
        return
    db = None
    if backend == "postgres":
        db = as_url(request.getfixturevalue("pg_dsn"))
    with (
        running_server(tmp_path, db=db, interval=0.01, cleanup=0.01) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        tids = poison_every_endpoint(http)
    with (
        running_server(tmp_path, db=db, interval=0.01, cleanup=0.01) as server,  # restart
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        everything_reads(http, tids)


# -- the fuzz ----------------------------------------------------------------------------

_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)


_values = st.recursive(_leaves, _containers, max_leaves=12)


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    where = tmp_path_factory.mktemp("fuzz")
    with running_server(where, interval=0.0, cleanup=0.0) as server:
        yield server.url


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=_values, where=st.sampled_from(["metadata", "state", "input", "config"]))
def test_fuzz_no_5xx_and_every_thread_stays_readable(
    fuzzed_server: str, value: Any, where: str
) -> None:
    raw = json.dumps(value, allow_nan=True)
    with httpx.Client(base_url=fuzzed_server, timeout=60) as http:
        tid = str(uuid.uuid4())
        metadata = P if where == "metadata" else 1
        created = send(
            http, "POST", "/threads", raw_body({"thread_id": tid, "metadata": {"v": metadata}}, raw)
        )
        assert created.status_code in (200, 422), created.text
        if created.status_code == 422:
            tid = ok(http.post("/threads", json={}))["thread_id"]
        path = f"/threads/{tid}/runs/wait"
        body: dict[str, Any] = {"assistant_id": "agent", "input": {"prompt": P}}
        if where == "state":
            path, body = f"/threads/{tid}/state", {"values": {"prompt": P}}
        elif where == "config":
            body = {"assistant_id": "agent", "input": {}, "config": {"configurable": {"v": P}}}
        response = send(http, "POST", path, raw_body(body, raw))
        assert response.status_code < 500, response.text
        everything_reads(http, [tid])
