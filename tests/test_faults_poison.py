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
that the poison is exactly what a client can send). The fuzz is a hypothesis state
machine (bounded, derandomized: the same steps on every run) on SQLite and PostgreSQL:
threads created, runs on them, state updates, metadata patches, searches, copies,
deletes and cancels, with arbitrary JSON and the poisons; after every step no answer was
a 5xx, every thread reads and a deleted one stays gone. The server runs on asyncio
(uvicorn), so these are plain sync tests.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
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
            # the bug was: the value stored (whatever the answer), then every search, and
            # in scale-out the thread's runs, answered 500 from then on
            for read in (http.post("/threads/search", json={}), http.get(f"/threads/{tid}/runs")):
                assert read.status_code == 200, (name, path, response.status_code, read.text)
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


# -- the fuzz: a state machine over the endpoints ------------------------------------------

_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)


_raw_values = st.one_of(
    # arbitrary JSON (NaN, big integers and lone surrogates included: json.dumps writes them)
    st.recursive(_leaves, _containers, max_leaves=8).map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from([raw for raw, _ in POISONS.values()]),
)
"""The raw JSON of a value a client sends: anything, and every poison of POISONS."""

FUZZ = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    # Fixed examples in CI; SCOPEGRAPH_HYPOTHESIS_EXPLORE=1 explores new ones locally.
    derandomize=os.environ.get("SCOPEGRAPH_HYPOTHESIS_EXPLORE") != "1",
    database=None,
    # no shrinking: the server's state (a background run ended or not) differs between
    # replays, so hypothesis cannot shrink reliably; a derandomized failure reproduces as is
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class ServerMachine(RuleBasedStateMachine):
    """A client doing what clients do, in any order, with any values: create threads,
    create runs on them (waited for or not, valid or poisoned input, metadata, config),
    update their state, patch their metadata, search, copy, delete, cancel runs.

    After every step: no answer was a 5xx, every thread that exists reads (get, state,
    history, its runs, search), and a deleted thread stays gone."""

    url: str = ""  # set by the test for its server
    threads = Bundle("threads")
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=self.url, timeout=60)
        self.live: set[str] = set()
        self.deleted: set[str] = set()

    def teardown(self) -> None:
        self.http.close()

    def send(self, method: str, path: str, body: dict[str, Any], raw: str) -> httpx.Response:
        response = send(self.http, method, path, raw_body(body, raw))
        assert response.status_code < 500, (method, path, raw, response.text)
        return response

    # Each rule with a target adds one value to its bundle whatever the server answered
    # (an id nothing has, if the request was refused): what hypothesis draws then never
    # depends on the server, and a failing example replays the same steps.

    def new_thread(self, raw: str) -> str:
        tid = str(uuid.uuid4())
        response = self.send("POST", "/threads", {"thread_id": tid, "metadata": {"v": P}}, raw)
        if response.status_code == 200:
            self.live.add(tid)
        return tid

    def new_run(self, tid: str, body: dict[str, Any], raw: str, wait: bool) -> tuple[str, str]:
        path = f"/threads/{tid}/runs" + ("/wait" if wait else "")
        response = self.send("POST", path, {"assistant_id": "agent", **body}, raw)
        if wait or response.status_code != 200:
            return (tid, str(uuid.uuid4()))
        return (tid, str(response.json()["run_id"]))

    @initialize(target=threads)
    def a_thread(self) -> str:
        return self.new_thread("1")

    @rule(target=threads, raw=_raw_values)
    def create_thread(self, raw: str) -> str:
        return self.new_thread(raw)

    @rule(target=runs, tid=threads, wait=st.booleans())
    def create_run(self, tid: str, wait: bool) -> tuple[str, str]:
        return self.new_run(tid, {"input": {"prompt": "hi"}}, "", wait)

    @rule(
        target=runs,
        tid=threads,
        raw=_raw_values,
        where=st.sampled_from(["input", "metadata", "config", "command"]),
        wait=st.booleans(),
    )
    def create_run_with(self, tid: str, raw: str, where: str, wait: bool) -> tuple[str, str]:
        """A run with the value in its input, metadata, config or command."""
        bodies: dict[str, dict[str, Any]] = {
            "input": {"input": {"prompt": P}},
            "metadata": {"input": {"prompt": "hi"}, "metadata": {"m": P}},
            "config": {"input": {"prompt": "hi"}, "config": {"configurable": {"v": P}}},
            "command": {"command": {"resume": P}},
        }
        return self.new_run(tid, bodies[where], raw, wait)

    @rule(tid=threads, raw=_raw_values)
    def update_state(self, tid: str, raw: str) -> None:
        self.send("POST", f"/threads/{tid}/state", {"values": {"prompt": P}}, raw)

    @rule(tid=threads, raw=_raw_values)
    def patch_metadata(self, tid: str, raw: str) -> None:
        self.send("PATCH", f"/threads/{tid}", {"metadata": {"v": P}}, raw)

    @rule(raw=_raw_values)
    def search(self, raw: str) -> None:
        self.send("POST", "/threads/search", {"metadata": {"v": P}, "limit": 10}, raw)

    @rule(target=threads, tid=threads)
    def copy(self, tid: str) -> str:
        response = self.send("POST", f"/threads/{tid}/copy", {}, "")
        if response.status_code != 200:
            assert tid not in self.live, response.text
            return str(uuid.uuid4())
        copied = str(response.json()["thread_id"])
        self.live.add(copied)
        return copied

    @rule(tid=consumes(threads))
    def delete(self, tid: str) -> None:
        response = self.send("DELETE", f"/threads/{tid}", {}, "")
        assert response.status_code == (204 if tid in self.live else 404), response.text
        self.live.discard(tid)
        self.deleted.add(tid)

    @rule(run=runs)
    def cancel(self, run: tuple[str, str]) -> None:
        tid, run_id = run
        response = self.send("POST", f"/threads/{tid}/runs/{run_id}/cancel", {}, "")
        # 404: the run has ended, was never created, or its thread was deleted
        assert response.status_code in (202, 404), response.text

    @invariant()
    def every_thread_reads_and_deleted_ones_stay_gone(self) -> None:
        found = ok(self.http.post("/threads/search", json={"limit": 1000}))
        assert self.live <= {t["thread_id"] for t in found}
        everything_reads(self.http, sorted(self.live))
        for tid in self.deleted - self.live:
            assert self.http.get(f"/threads/{tid}").status_code == 404, tid


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzzed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    db = None
    if request.param == "postgres":
        db = as_url(_pg.fresh_database_dsn())
    where = tmp_path_factory.mktemp("fuzz")
    with running_server(where, db=db, interval=0.01, cleanup=0.0) as server:
        yield server.url


def test_fuzz_no_5xx_every_thread_stays_readable_and_deleted_ones_stay_gone(
    fuzzed_server: str,
) -> None:
    machine = type("Machine", (ServerMachine,), {"url": fuzzed_server})
    run_state_machine_as_test(machine, settings=FUZZ)
