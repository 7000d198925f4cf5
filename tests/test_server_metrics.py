"""Prometheus metrics at ``GET /metrics``: runs by status, active runs, the queue, stream
followers, cleanup durations, store and checkpoint latencies; one registry per app; the
queue read from PostgreSQL in scale-out mode; 501 naming the extra without
prometheus-client."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import _pg
import _redis
from _cluster import GRAPHS, as_url, running_cluster
from _ops import Gate, gate_graph, quick_graph, serving, sse_events
from _server import free_port
from scopegraph.checkpoint import PostgresSaver, SqliteSaver
from scopegraph.server import ServerSettings, create_app

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]

CHAIN = next(spec for spec in GRAPHS if spec.startswith("chain="))

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_of_runs_queue_followers_cleanup_and_latencies(
    anyio_backend: str, tmp_path: Path
) -> None:
    gate = Gate(cleanup=0.05)
    saver = SqliteSaver(tmp_path / "checkpoints.db")
    app = create_app(
        {"gate": gate_graph(gate), "quick": quick_graph()},
        saver,
        database=str(tmp_path / "server.db"),
    )
    async with serving(app, anyio_backend) as http:
        before = await scrape(http)
        assert value(before, "scopegraph_active_runs") == 0
        assert value(before, "scopegraph_queue_depth") == 0

        tid = (await http.post("/threads", json={})).json()["thread_id"]
        done = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "quick", "input": {"n": 0}}
        )
        assert done.json() == {"n": 1}
        m = await scrape(http)
        assert value(m, "scopegraph_runs_total", status="success") == 1
        assert value(m, "scopegraph_checkpoint_latency_seconds_count", operation="aput") >= 1
        assert value(m, "scopegraph_store_latency_seconds_count", operation="put") >= 1

        # One run held at the gate, one queued behind it on the same thread, a follower.
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "gate", "input": {"n": 0}}
        running = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        await gate.started.wait()
        queued = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        async with http.stream("GET", f"/threads/{tid}/runs/{running}/stream") as follower:
            assert follower.status_code == 200
            m = await scrape(http)
            assert value(m, "scopegraph_active_runs") == 1
            assert value(m, "scopegraph_queue_depth") == 1
            assert value(m, "scopegraph_queue_oldest_age_seconds") > 0
            assert value(m, "scopegraph_stream_followers") == 1
            assert value(m, "scopegraph_stream_event_lag_events") >= 0
            # the queued run never started: no cleanup; the running one cleans up
            await http.post(f"/threads/{tid}/runs/{queued}/cancel?wait=1")
            cancel = await http.post(f"/threads/{tid}/runs/{running}/cancel?wait=1")
            assert cancel.status_code < 300
        assert gate.log == ["cleanup done"]
        m = await scrape(http)
        assert value(m, "scopegraph_runs_total", status="interrupted") == 2
        assert value(m, "scopegraph_cleanup_duration_seconds_count") == 1
        assert value(m, "scopegraph_cleanup_duration_seconds_sum") >= 0.05  # the cleanup's sleep
        assert value(m, "scopegraph_active_runs") == 0
        assert value(m, "scopegraph_queue_depth") == 0
        assert value(m, "scopegraph_stream_followers") == 0
    await saver.aclose()


async def test_a_timed_out_run_counts_its_cleanup_from_its_deadline(
    anyio_backend: str, tmp_path: Path
) -> None:
    gate = Gate(cleanup=0.05)
    app = create_app({"gate": gate_graph(gate)}, SqliteSaver(tmp_path / "cp.db"))
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "gate", "input": {"n": 0}, "timeout": 1.0}
        run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        await http.get(f"/threads/{tid}/runs/{run_id}/join")
        assert (await http.get(f"/threads/{tid}/runs/{run_id}")).json()["status"] == "timeout"
        assert gate.log == ["cleanup done"]
        m = await scrape(http)
        assert value(m, "scopegraph_runs_total", status="timeout") == 1
        assert value(m, "scopegraph_cleanup_duration_seconds_count") == 1
        # from the deadline (1 s after the start), not from the start
        assert 0.05 <= value(m, "scopegraph_cleanup_duration_seconds_sum") < 1.0


async def test_two_apps_in_one_process_keep_their_own_metrics(
    anyio_backend: str, tmp_path: Path
) -> None:
    one = create_app({"quick": quick_graph()}, SqliteSaver(tmp_path / "one.db"))
    two = create_app({"quick": quick_graph()}, SqliteSaver(tmp_path / "two.db"))
    async with serving(one, anyio_backend) as a, serving(two, anyio_backend) as b:
        for _ in range(3):
            await a.post("/runs/wait", json={"assistant_id": "quick", "input": {"n": 0}})
        await b.post("/runs/wait", json={"assistant_id": "quick", "input": {"n": 0}})
        assert value(await scrape(a), "scopegraph_runs_total", status="success") == 3
        assert value(await scrape(b), "scopegraph_runs_total", status="success") == 1


async def test_without_prometheus_client_metrics_answer_501_naming_the_extra(
    anyio_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    app = create_app({"quick": quick_graph()}, SqliteSaver(tmp_path / "cp.db"))
    async with serving(app, anyio_backend) as http:
        response = await http.get("/metrics")
        assert response.status_code == 501
        assert "pip install 'scopegraph[metrics]'" in response.json()["message"]
        # the runs go on without metrics
        ran = await http.post("/runs/wait", json={"assistant_id": "quick", "input": {"n": 1}})
        assert ran.json() == {"n": 2}


async def test_a_metrics_format_other_than_prometheus_is_refused(
    anyio_backend: str, tmp_path: Path
) -> None:
    app = create_app({"quick": quick_graph()}, SqliteSaver(tmp_path / "cp.db"))
    async with serving(app, anyio_backend) as http:
        assert (await http.get("/metrics?format=prometheus")).status_code == 200
        response = await http.get("/metrics?format=json")
        assert response.status_code == 422
        assert "format=json is not supported" in response.json()["message"]


async def test_metrics_turned_off_answer_404(anyio_backend: str, tmp_path: Path) -> None:
    app = create_app(
        {"quick": quick_graph()},
        SqliteSaver(tmp_path / "cp.db"),
        settings=ServerSettings(metrics=False),
    )
    async with serving(app, anyio_backend) as http:
        response = await http.get("/metrics")
        assert response.status_code == 404
        assert "metrics=False" in response.json()["message"]


async def test_scale_out_queue_metrics_come_from_postgres(
    anyio_backend: str, pg_dsn: str, redis_url: str
) -> None:
    """Two API-only processes (no worker: nothing claims) show the same PostgreSQL queue;
    each counts its own followers and runs."""
    db = as_url(pg_dsn)
    savers = [PostgresSaver(db), PostgresSaver(db)]
    apps = [
        create_app({"quick": quick_graph()}, saver, database=db, redis=redis_url, worker=False)
        for saver in savers
    ]
    async with serving(apps[0], anyio_backend) as a, serving(apps[1], anyio_backend) as b:
        tid = (await a.post("/threads", json={})).json()["thread_id"]
        for _ in range(3):
            created = await a.post(
                f"/threads/{tid}/runs", json={"assistant_id": "quick", "input": {"n": 0}}
            )
            assert created.status_code == 200, created.text
        for http in (a, b):
            m = await scrape(http)
            assert value(m, "scopegraph_queue_depth") == 3
            assert value(m, "scopegraph_queue_oldest_age_seconds") > 0
            assert value(m, "scopegraph_active_runs") == 0
            assert value(m, "scopegraph_store_latency_seconds_count", operation="enqueue") == (
                3 if http is a else 0
            )
        # cancel them (they end without running) so that the apps drain at once
        runs = (await b.get(f"/threads/{tid}/runs")).json()
        for run in runs:
            await b.post(f"/threads/{tid}/runs/{run['run_id']}/cancel")
        assert value(await scrape(b), "scopegraph_queue_depth") == 0
    for saver in savers:
        await saver.aclose()


async def test_scale_out_process_counts_its_worker_runs_followers_and_cleanups(
    anyio_backend: str, pg_dsn: str, redis_url: str
) -> None:
    db = as_url(pg_dsn)
    gate = Gate(cleanup=0.05)
    saver = PostgresSaver(db)
    app = create_app({"gate": gate_graph(gate)}, saver, database=db, redis=redis_url)
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "gate", "input": {"n": 0}}
        run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        await gate.started.wait()
        replay = {"Last-Event-ID": "-1"}  # from the start: its metadata event comes at once
        async with (
            http.stream("GET", f"/threads/{tid}/runs/{run_id}/stream", headers=replay) as follower,
            contextlib.aclosing(sse_events(follower)) as events,
        ):
            assert follower.status_code == 200
            assert (await anext(events))[0] == "metadata"  # the stream is being sent
            m = await scrape(http)
            assert value(m, "scopegraph_stream_followers") == 1
            assert value(m, "scopegraph_active_runs") == 1
            assert value(m, "scopegraph_queue_depth") == 0
            assert value(m, "scopegraph_stream_event_lag_events") >= 0
            await http.post(f"/threads/{tid}/runs/{run_id}/cancel?wait=1")
        assert gate.log == ["cleanup done"]
        m = await scrape(http)
        assert value(m, "scopegraph_runs_total", status="interrupted") == 1
        assert value(m, "scopegraph_cleanup_duration_seconds_count") == 1
        assert value(m, "scopegraph_cleanup_duration_seconds_sum") >= 0.05
        assert value(m, "scopegraph_checkpoint_latency_seconds_count", operation="aput") >= 1
        assert value(m, "scopegraph_active_runs") == 0
        assert value(m, "scopegraph_stream_followers") == 0
    await saver.aclose()


@pytest.mark.uvicorn
def test_a_worker_process_serves_its_own_metrics(
    tmp_path: Path, pg_dsn: str, redis_url: str
) -> None:
    """``scopegraph worker --metrics-port``: a worker has no HTTP API, so it serves its
    metrics on a port of its own: the runs it ran, its store and checkpoint latencies."""
    port = free_port()
    db = as_url(pg_dsn)
    with running_cluster(tmp_path, db, redis_url, apis=1, workers=0) as cluster:
        args = [sys.executable, "-m", "scopegraph._cli", "worker", "--graph", CHAIN]
        args += ["--db", db, "--redis", redis_url, "--metrics-port", str(port)]
        output = tmp_path / "metrics-worker.log"
        with output.open("wb") as out:
            worker = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            deadline = time.monotonic() + 30
            while True:  # the worker process starting
                assert worker.poll() is None, output.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url).status_code == 200:
                        break
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.05)
            api = cluster.apis[0]
            tid = httpx.post(f"{api}/threads", json={}).json()["thread_id"]
            done = httpx.post(
                f"{api}/threads/{tid}/runs/wait",
                json={"assistant_id": "chain", "input": {"done": []}},
                timeout=30,
            )
            assert done.json()["done"] == ["n1", "n2", "n3", "n4"]
            samples: Samples = {}
            for family in text_string_to_metric_families(httpx.get(url).text):
                for s in family.samples:
                    samples[(s.name, frozenset(s.labels.items()))] = s.value
            assert value(samples, "scopegraph_runs_total", status="success") == 1
            assert (
                value(samples, "scopegraph_checkpoint_latency_seconds_count", operation="aput") >= 4
            )
            assert value(samples, "scopegraph_store_latency_seconds_count", operation="claim") >= 1
            assert ("scopegraph_queue_depth", frozenset()) in samples
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0, output.read_text()
