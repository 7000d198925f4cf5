"""OpenTelemetry spans of the run server: one per run, one per node of the run.

A run's span (``run <graph_id>``) covers its execution, from the moment it starts to the
moment its end is settled (status decided, checkpoint stored); each node of the run gets
a child span (``node <name>``), from the node's start to its result, and each node of a
subgraph a child of the span of the node that runs the subgraph (with
``scopegraph.checkpoint_ns``, the subgraph's namespace). Their
attributes (``scopegraph.*``): ``run_id``, ``thread_id``, ``graph_id``, ``attempt``,
``worker`` (scale-out: the worker that ran it), ``status``; on a cancelled run,
``cleanup_seconds``: from the cancellation (a cancel request, a disconnect, a timeout,
shutdown) to every node's cleanup finished. A node still running when the run was
cancelled ends with the run, its cleanup included, with status ``cancelled``.

The parent of a run's span is the trace context of the request that created it (its
``traceparent`` header, W3C Trace Context), so a client's trace continues into the
server. In scale-out mode the API process records the request as a span
(``enqueue <graph_id>``) and writes its context into the run's queue row
(``trace_context``); the worker that claims the run, in any process, starts the run's
span under it: one trace across processes.

The node spans come from the run's ``tasks`` stream with its subgraphs (the engine's
public API): the server asks for that stream only when tracing is on, so a server
without tracing pays nothing per node (a run streamed with ``stream_mode="events"``
gets spans for its top graph's nodes only: those events name no namespace). A node span
therefore starts when the engine announces the task and ends when it reports its
result, as the executor sees them; the span is not current inside the node
(instrumentation called by the node's code starts its own trace).

``opentelemetry-api`` and ``-sdk`` are optional (``pip install 'scopegraph[otel]'``).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

__all__ = (
    "OTEL_MISSING",
    "OTLP_MISSING",
    "Queued",
    "RunTrace",
    "TraceContextMiddleware",
    "Tracing",
    "otlp_provider",
    "tracing_wanted",
)

OTEL_MISSING = (
    "OpenTelemetry tracing needs opentelemetry-api and opentelemetry-sdk: "
    "pip install 'scopegraph[otel]'"
)
OTLP_MISSING = (
    "exporting spans with OTLP (--otel, or OTEL_EXPORTER_OTLP_ENDPOINT set) needs the "
    "exporter: pip install opentelemetry-exporter-otlp-proto-http (or "
    "'scopegraph[otlp]'), or unset OTEL_EXPORTER_OTLP_ENDPOINT"
)
_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_request_carrier: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "scopegraph_trace_carrier", default=None
)
"""The W3C trace context headers of the request being handled (set by the middleware)."""


def tracing_wanted(flag: bool) -> bool:
    """Whether ``scopegraph serve``/``worker`` export spans: ``--otel``, or the standard
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set (and
    ``OTEL_SDK_DISABLED`` is not ``true``)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return flag or any(os.environ.get(name) for name in _ENDPOINT_VARS)


def otlp_provider(service_name: str) -> TracerProvider:
    """A TracerProvider that exports with OTLP over HTTP (the endpoint, headers and
    timeouts from the standard ``OTEL_EXPORTER_OTLP_*`` variables; without an endpoint,
    ``http://localhost:4318``). A ValueError names the package to install."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ValueError(OTEL_MISSING) from None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ValueError(OTLP_MISSING) from None
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class TraceContextMiddleware:
    """ASGI middleware: keeps the request's ``traceparent``/``tracestate`` headers for the
    runs it creates (installed only when tracing is on)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = None
        for name, value in scope["headers"]:
            if name in (b"traceparent", b"tracestate"):
                carrier = carrier or {}
                carrier[name.decode("latin-1")] = value.decode("latin-1")
        token = _request_carrier.set(carrier)
        try:
            await self.app(scope, receive, send)
        finally:
            _request_carrier.reset(token)


class Tracing:
    """Spans of runs and nodes through ``provider`` (default: OpenTelemetry's global
    TracerProvider). Raises ImportError naming the extra without OpenTelemetry."""

    def __init__(self, provider: Any = None) -> None:
        try:
            from opentelemetry import context, trace
            from opentelemetry.trace.propagation.tracecontext import (
                TraceContextTextMapPropagator,
            )
        except ImportError:
            raise ImportError(OTEL_MISSING) from None
        self.api = trace
        """``opentelemetry.trace``."""
        self._context = context
        source = provider if provider is not None else trace.get_tracer_provider()
        self.tracer: Tracer = source.get_tracer("scopegraph.server")
        self._propagator = TraceContextTextMapPropagator()

    def request_parent(self) -> Context | None:
        """The parent of what the current request starts: its ``traceparent`` if it sent
        one, else the current OpenTelemetry context (an instrumented app's span)."""
        carrier = _request_carrier.get()
        if carrier is not None:
            return self._propagator.extract(carrier)
        return self._context.get_current()

    def parent_from(self, carrier: Mapping[str, str] | None) -> Context | None:
        """The context written into a queue row by :meth:`enqueued` (None: a root span)."""
        if not carrier:
            return None
        return self._propagator.extract(dict(carrier))

    @contextmanager
    def enqueued(self, graph_id: str) -> Iterator[Queued]:
        """A span for queueing a run (the scale-out API process): the block queues the
        run with :attr:`Queued.carrier` and names it with :meth:`Queued.describe`."""
        span = self.tracer.start_span(
            f"enqueue {graph_id}",
            context=self.request_parent(),
            attributes={"scopegraph.graph_id": graph_id},
        )
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=self.api.set_span_in_context(span))
        with self.api.use_span(span, end_on_exit=True, record_exception=True):
            yield Queued(span, carrier)

    def start_run(
        self,
        *,
        run_id: str,
        thread_id: str,
        graph_id: str,
        attempt: int,
        worker: str | None,
        parent: Context | None,
    ) -> RunTrace:
        """The span of a run that starts now (end it with :meth:`RunTrace.end`)."""
        attributes: dict[str, Any] = {
            "scopegraph.run_id": run_id,
            "scopegraph.thread_id": thread_id,
            "scopegraph.graph_id": graph_id,
            "scopegraph.attempt": attempt,
        }
        if worker is not None:
            attributes["scopegraph.worker"] = worker
        span = self.tracer.start_span(f"run {graph_id}", context=parent, attributes=attributes)
        return RunTrace(self, span, attributes)


class Queued:
    """A run being queued: the trace context to store with it, and its span."""

    def __init__(self, span: Span, carrier: dict[str, str]) -> None:
        self.span = span
        self.carrier = carrier

    def describe(self, row: Mapping[str, Any]) -> None:
        """Name the queued run on the span."""
        self.span.set_attribute("scopegraph.run_id", str(row["run_id"]))
        self.span.set_attribute("scopegraph.thread_id", str(row["thread_id"]))


class RunTrace:
    """One run's span and the spans of its nodes (fed by :meth:`task`)."""

    def __init__(self, tracing: Tracing, span: Span, attributes: dict[str, Any]) -> None:
        self._tracing = tracing
        self.span = span
        self._context = tracing.api.set_span_in_context(span)
        self._attributes = attributes
        self._nodes: dict[str, Span] = {}

    def task(self, namespace: tuple[str, ...], chunk: Any) -> None:
        """A chunk of the run's ``tasks`` stream: a node starts, or it has its result. A
        subgraph's node (``namespace``: ``("<node>:<task id>", ...)``) is a child of the
        span of the node that runs the subgraph."""
        if not isinstance(chunk, dict):
            return
        task_id = str(chunk.get("id"))
        if "triggers" in chunk:  # a start
            attributes = {**self._attributes, "scopegraph.node": str(chunk.get("name"))}
            attributes["scopegraph.task_id"] = task_id
            context = self._context
            if namespace:
                attributes["scopegraph.checkpoint_ns"] = "|".join(namespace)
                parent = self._nodes.get(namespace[-1].rpartition(":")[2])
                if parent is not None:
                    context = self._tracing.api.set_span_in_context(parent)
            self._nodes[task_id] = self._tracing.tracer.start_span(
                f"node {chunk.get('name')}", context=context, attributes=attributes
            )
            return
        span = self._nodes.pop(task_id, None)
        if span is None:
            return
        error = chunk.get("error")
        if error is not None:
            status = "error"
            span.set_status(self._tracing.api.Status(self._tracing.api.StatusCode.ERROR))
            if isinstance(error, BaseException):
                span.record_exception(error)
        elif chunk.get("interrupts"):
            status = "interrupted"
        else:
            status = "success"
        span.set_attribute("scopegraph.status", status)
        span.end()

    def end(
        self, status: str, *, cleanup_seconds: float | None, error: Mapping[str, Any] | None
    ) -> None:
        """End the run's span (and those of nodes that had no result: cancelled, the
        innermost first)."""
        trace = self._tracing.api
        for span in reversed(self._nodes.values()):
            span.set_attribute("scopegraph.status", "cancelled")
            span.end()
        self._nodes.clear()
        span = self.span
        span.set_attribute("scopegraph.status", status)
        if cleanup_seconds is not None:
            span.set_attribute("scopegraph.cleanup_seconds", cleanup_seconds)
        if error is not None:
            message = f"{error.get('error')}: {error.get('message')}"
            span.set_status(trace.Status(trace.StatusCode.ERROR, message))
        span.end()
