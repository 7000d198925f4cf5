"""OpenTelemetry spans of the run server: a span per run and per node, with the run's
ids, attempt, worker and status, the time from a cancellation to the cleanup finished,
the client's trace continued (``traceparent``), and in scale-out the trace carried from
the API process to the worker process in the queue row (real processes exporting with
OTLP to a receiver in this test)."""

from __future__ import annotations

import contextlib
import http.server
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import _pg
import _redis
from _cluster import running_cluster
from _ops import Gate, State, gate_graph, quick_graph, serving, sse_events
from _server import EXAMPLE
from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import create_app

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

TRACE_ID = uuid.uuid4().hex
PARENT_ID = uuid.uuid4().hex[:16]


def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def spans_of(exporter: InMemorySpanExporter, run_id: str) -> dict[str, ReadableSpan]:
    """The finished spans of one run, by name."""
    found = {}
    for span in exporter.get_finished_spans():
        if (span.attributes or {}).get("scopegraph.run_id") == run_id:
            found[span.name] = span
    return found


async def test_spans_of_a_run_and_its_nodes_continue_the_clients_trace(
    anyio_backend: str, tmp_path: Path
) -> None:
    provider, exporter = traced()
    app = create_app(
        {"quick": quick_graph()}, SqliteSaver(tmp_path / "cp.db"), tracer_provider=provider
    )
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        events = []
        async with http.stream(
            "POST",
            f"/threads/{tid}/runs/stream",
            json={"assistant_id": "quick", "input": {"n": 0}, "stream_mode": ["values"]},
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
        ) as response:
            async for event, data in sse_events(response):
                events.append(event)
                if event == "metadata":
                    run_id = data["run_id"]
        # the tasks stream the tracing reads is not the client's
        assert events.count("values") == 2
        assert set(events) <= {"metadata", "values", "end"}
        await http.get(f"/threads/{tid}/runs/{run_id}/join")
    spans = spans_of(exporter, run_id)
    assert set(spans) == {"run quick", "node step"}
    run, node = spans["run quick"], spans["node step"]
    assert run.context is not None
    assert node.context is not None
    assert run.parent is not None
    assert f"{run.context.trace_id:032x}" == TRACE_ID
    assert f"{run.parent.span_id:016x}" == PARENT_ID
    assert node.parent is not None
    assert node.parent.span_id == run.context.span_id
    assert run.attributes is not None
    assert node.attributes is not None
    assert run.attributes["scopegraph.thread_id"] == tid
    assert run.attributes["scopegraph.attempt"] == 1
    assert run.attributes["scopegraph.status"] == "success"
    assert node.attributes["scopegraph.status"] == "success"
    assert "scopegraph.cleanup_seconds" not in run.attributes
    assert run.status.status_code != StatusCode.ERROR
    assert run.start_time is not None
    assert node.start_time is not None
    assert run.end_time is not None
    assert node.end_time is not None
    assert run.start_time <= node.start_time <= node.end_time <= run.end_time


def nested_graph() -> Any:
    """``outer``: node ``mid`` runs a subgraph whose node ``inner`` runs another (its
    node ``step``); then node ``after``."""
    inner = StateGraph(State)
    inner.add_node("step", _add_one)
    inner.add_edge(START, "step")
    inner.add_edge("step", END)
    mid = StateGraph(State)
    mid.add_node("inner", inner.compile())
    mid.add_edge(START, "inner")
    mid.add_edge("inner", END)
    outer = StateGraph(State)
    outer.add_node("mid", mid.compile())
    outer.add_node("after", _add_one)
    outer.add_edge(START, "mid")
    outer.add_edge("mid", "after")
    outer.add_edge("after", END)
    return outer.compile()


def _add_one(state: State) -> State:
    return {"n": state.get("n", 0) + 1}


async def test_a_subgraphs_nodes_get_spans_under_the_node_that_runs_it(
    anyio_backend: str, tmp_path: Path
) -> None:
    provider, exporter = traced()
    app = create_app(
        {"outer": nested_graph()}, SqliteSaver(tmp_path / "cp.db"), tracer_provider=provider
    )
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        events = []
        async with http.stream(
            "POST",
            f"/threads/{tid}/runs/stream",
            json={"assistant_id": "outer", "input": {"n": 0}, "stream_mode": ["values"]},
        ) as response:
            async for event, data in sse_events(response):
                events.append(event)
                if event == "metadata":
                    run_id = data["run_id"]
        await http.get(f"/threads/{tid}/runs/{run_id}/join")
    # the subgraphs streamed for tracing are not the client's
    assert set(events) <= {"metadata", "values", "end"}
    spans = spans_of(exporter, run_id)
    assert set(spans) == {"run outer", "node mid", "node inner", "node step", "node after"}

    def parent_of(name: str) -> str:
        parent = spans[name].parent
        assert parent is not None
        [found] = [n for n, s in spans.items() if s.context and s.context.span_id == parent.span_id]
        return found

    assert parent_of("node mid") == parent_of("node after") == "run outer"
    assert parent_of("node inner") == "node mid"
    assert parent_of("node step") == "node inner"
    step = spans["node step"].attributes or {}
    assert step["scopegraph.status"] == "success"
    assert str(step["scopegraph.checkpoint_ns"]).startswith("mid:")
    assert "|inner:" in str(step["scopegraph.checkpoint_ns"])
    assert "scopegraph.checkpoint_ns" not in (spans["node mid"].attributes or {})
    for child, parent in (("node step", "node inner"), ("node inner", "node mid")):
        inner, outer = spans[child], spans[parent]
        assert inner.start_time is not None
        assert outer.start_time is not None
        assert inner.end_time is not None
        assert outer.end_time is not None
        assert outer.start_time <= inner.start_time <= inner.end_time <= outer.end_time


async def test_node_spans_with_the_events_stream_mode_leave_the_clients_events_alone(
    anyio_backend: str, tmp_path: Path
) -> None:
    provider, exporter = traced()
    app = create_app(
        {"quick": quick_graph()}, SqliteSaver(tmp_path / "cp.db"), tracer_provider=provider
    )
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        streamed: list[tuple[str, object]] = []
        async with http.stream(
            "POST",
            f"/threads/{tid}/runs/stream",
            json={"assistant_id": "quick", "input": {"n": 0}, "stream_mode": ["events"]},
        ) as response:
            async for event, data in sse_events(response):
                streamed.append((event, data))
                if event == "metadata":
                    run_id = data["run_id"]
        await http.get(f"/threads/{tid}/runs/{run_id}/join")
    assert {"run quick", "node step"} <= set(spans_of(exporter, run_id))
    chunks = [
        data["data"]["chunk"]
        for event, data in streamed
        if event == "events" and isinstance(data, dict) and data.get("event") == "on_chain_stream"
    ]
    assert chunks  # the client's own events are there
    assert not any(isinstance(c, list) and c and c[0] == "tasks" for c in chunks)


async def test_a_cancelled_run_has_its_cleanup_time_and_its_node_ends_after_cleanup(
    anyio_backend: str, tmp_path: Path
) -> None:
    provider, exporter = traced()
    gate = Gate(cleanup=0.05)
    app = create_app(
        {"gate": gate_graph(gate)}, SqliteSaver(tmp_path / "cp.db"), tracer_provider=provider
    )
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "gate", "input": {"n": 0}}
        run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        await gate.started.wait()
        assert "run gate" not in spans_of(exporter, run_id)  # still running
        await http.post(f"/threads/{tid}/runs/{run_id}/cancel?wait=1")
        assert gate.log == ["cleanup done"]
    spans = spans_of(exporter, run_id)
    assert set(spans) == {"run gate", "node first", "node gate"}
    run = spans["run gate"]
    assert run.attributes is not None
    assert run.attributes["scopegraph.status"] == "interrupted"
    cleanup = run.attributes["scopegraph.cleanup_seconds"]
    assert isinstance(cleanup, float)
    assert cleanup >= 0.05
    assert (spans["node first"].attributes or {})["scopegraph.status"] == "success"
    gate_span = spans["node gate"]
    assert (gate_span.attributes or {})["scopegraph.status"] == "cancelled"
    assert gate_span.end_time is not None
    assert gate_span.start_time is not None
    assert gate_span.end_time - gate_span.start_time >= 50_000_000  # its cleanup included


async def test_a_failed_run_span_has_the_error_status(anyio_backend: str, tmp_path: Path) -> None:
    from typing import TypedDict

    from scopegraph import END, START, StateGraph

    class S(TypedDict):
        n: int

    async def boom(state: S) -> S:
        raise RuntimeError("boom")

    builder = StateGraph(S)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    builder.add_edge("boom", END)
    provider, exporter = traced()
    app = create_app(
        {"boom": builder.compile()}, SqliteSaver(tmp_path / "cp.db"), tracer_provider=provider
    )
    async with serving(app, anyio_backend) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "boom", "input": {"n": 0}}
        run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
        await http.get(f"/threads/{tid}/runs/{run_id}/join")
    spans = spans_of(exporter, run_id)
    run, node = spans["run boom"], spans["node boom"]
    assert run.status.status_code == StatusCode.ERROR
    assert "RuntimeError: boom" in (run.status.description or "")
    assert (run.attributes or {})["scopegraph.status"] == "error"
    assert node.status.status_code == StatusCode.ERROR
    assert (node.attributes or {})["scopegraph.status"] == "error"


# -- scale-out: real processes, spans exported with OTLP -------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    spans: list[dict[str, Any]]
    lock: threading.Lock

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    with self.lock:
                        self.spans.append(
                            {
                                "name": span.name,
                                "service": service,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex(),
                                "attributes": attributes,
                            }
                        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@contextlib.contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An OTLP/HTTP endpoint on loopback; the spans it received."""
    spans: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"spans": spans, "lock": threading.Lock()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.uvicorn
def test_scale_out_run_span_continues_the_api_process_trace_in_the_worker(
    tmp_path: Path, pg_dsn: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with otlp_receiver() as (endpoint, spans):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        nested = f"nested={Path(__file__).with_name('_resource_graphs.py')}:nested"
        with running_cluster(
            tmp_path, pg_dsn, redis_url, apis=1, workers=1, extra_graphs=[nested]
        ) as cluster:
            api = cluster.apis[0]
            tid = httpx.post(f"{api}/threads", json={}).json()["thread_id"]
            response = httpx.post(
                f"{api}/threads/{tid}/runs/wait",
                json={"assistant_id": "chain", "input": {"done": []}},
                headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            run_id = response.headers["content-location"].rsplit("/", 1)[1]
            other = httpx.post(f"{api}/threads", json={}).json()["thread_id"]
            response = httpx.post(
                f"{api}/threads/{other}/runs/wait",
                json={"assistant_id": "nested", "input": {"input": "n"}},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            nested_run = response.headers["content-location"].rsplit("/", 1)[1]
        # every process flushed its spans when it stopped (SIGTERM)
    of_run = [s for s in spans if s["attributes"].get("scopegraph.run_id") == run_id]
    by_name = {s["name"]: s for s in of_run}
    enqueue, run = by_name["enqueue chain"], by_name["run chain"]
    assert enqueue["service"] == "scopegraph"
    assert run["service"] == "scopegraph-worker"
    assert enqueue["trace_id"] == run["trace_id"] == TRACE_ID
    assert enqueue["parent_id"] == PARENT_ID
    assert run["parent_id"] == enqueue["span_id"]  # across processes, through the queue row
    assert run["attributes"]["scopegraph.worker"] == "W1"
    assert run["attributes"]["scopegraph.attempt"] == 1
    assert run["attributes"]["scopegraph.status"] == "success"
    nodes = [s for s in of_run if s["name"].startswith("node ")]
    assert nodes
    assert all(s["parent_id"] == run["span_id"] for s in nodes)
    assert all(s["attributes"]["scopegraph.worker"] == "W1" for s in nodes)
    # a subgraph's node: a child of the node that runs the subgraph, in the worker too
    of_nested = {
        s["name"]: s for s in spans if s["attributes"].get("scopegraph.run_id") == nested_run
    }
    sub, ask = of_nested["node sub"], of_nested["node ask"]
    assert sub["parent_id"] == of_nested["run nested"]["span_id"]
    assert ask["parent_id"] == sub["span_id"]
    assert ask["attributes"]["scopegraph.status"] == "interrupted"


def test_otlp_export_without_the_exporter_package_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scopegraph._cli import main

    exporter = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
    monkeypatch.setitem(sys.modules, exporter, None)  # as if not installed
    status = main(["serve", f"--graph=agent={EXAMPLE}:graph", "--otel", "--port", "0"])
    assert status == 2
    error = capsys.readouterr().err
    assert "pip install opentelemetry-exporter-otlp-proto-http" in error
    assert "'scopegraph[otlp]'" in error
    # the standard variable asks for export as well (without --otel)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    assert main(["serve", f"--graph=agent={EXAMPLE}:graph", "--port", "0"]) == 2
    assert "pip install opentelemetry-exporter-otlp-proto-http" in capsys.readouterr().err


@pytest.mark.uvicorn
def test_scale_out_a_run_taken_over_after_a_crash_has_a_second_attempt_span(
    tmp_path: Path, pg_dsn: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker is killed mid-run; another takes the run over (attempt 2): its run span,
    in the same trace under the same enqueue span, says attempt 2 and names the new
    worker, and its node spans are the nodes run again."""
    with otlp_receiver() as (endpoint, spans):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        with running_cluster(tmp_path, pg_dsn, redis_url, apis=1, workers=2) as cluster:
            api = cluster.apis[0]
            tid = httpx.post(f"{api}/threads", json={}).json()["thread_id"]
            body = {"assistant_id": "chain", "input": {"done": []}, "stream_mode": ["custom"]}
            killed, event, run_id = "", "", ""
            with httpx.stream(
                "POST", f"{api}/threads/{tid}/runs/stream", json=body, timeout=90
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "metadata" and not run_id:
                        run_id = json.loads(line[6:])["run_id"]
                    elif (
                        line.startswith("data: ")
                        and event == "custom"
                        and not killed
                        and json.loads(line[6:]) == {"node": "n2", "i": 1}
                    ):
                        run = httpx.get(f"{api}/threads/{tid}/runs/{run_id}").json()
                        killed = run["worker"]
                        cluster.kill(killed)  # mid-step 2
            run = httpx.get(f"{api}/threads/{tid}/runs/{run_id}").json()
            assert (run["status"], run["attempt"]) == ("success", 2)
            survivor = run["worker"]
            assert survivor != killed
    of_run = [s for s in spans if s["attributes"].get("scopegraph.run_id") == run_id]
    (enqueue,) = [s for s in of_run if s["name"] == "enqueue chain"]
    (second,) = [
        s for s in of_run if s["name"] == "run chain" and s["attributes"]["scopegraph.attempt"] == 2
    ]
    assert second["trace_id"] == enqueue["trace_id"]
    assert second["parent_id"] == enqueue["span_id"]
    assert second["attributes"]["scopegraph.worker"] == survivor
    assert second["attributes"]["scopegraph.status"] == "success"
    resumed = sorted(s["name"] for s in of_run if s["parent_id"] == second["span_id"])
    assert resumed == ["node n2", "node n3", "node n4"]  # n1 was in the last checkpoint
    assert all(s["trace_id"] == enqueue["trace_id"] for s in of_run)
