"""Prometheus metrics of the run server, served at ``GET /metrics``.

Each app has its own :class:`Metrics` (its own ``CollectorRegistry``), so several apps in
one process (tests, an app mounted twice) never share or collide on a metric. What a
process counts as it happens (runs ended, cleanup durations, store and checkpoint
latencies) is recorded by the backends through :class:`Metrics`; what is a level at a
moment (active runs, the queue, stream followers, their lag) is sampled when scraped,
from the backend (:class:`RunStats`): in scale-out mode the queue figures come from
PostgreSQL (every process shows the same queue), the others are this process's.

``prometheus-client`` is optional (``pip install 'scopegraph[metrics]'``): without it,
:func:`open_metrics` returns None and ``/metrics`` answers 501 naming the extra.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = (
    "CONTENT_TYPE",
    "METRICS_MISSING",
    "Metrics",
    "RunStats",
    "instrument_saver",
    "open_metrics",
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_MISSING = "metrics need the prometheus-client package: pip install 'scopegraph[metrics]'"

# Latencies of a database call: 0.5 ms to 10 s.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
# Cleanups: what a node's shielded finally does (release, flush): 1 ms to 60 s.
_CLEANUP_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclasses.dataclass(frozen=True)
class RunStats:
    """Levels a backend reports when ``/metrics`` is scraped."""

    active: int
    """Runs executing in this process (its worker's, in scale-out mode)."""
    queued: float
    """Runs waiting to start (pending): this process's, or the PostgreSQL queue's."""
    oldest_queued_seconds: float
    """Age of the oldest pending run (0 with none). Both NaN when the queue could not be
    read (scale-out, PostgreSQL unreachable)."""
    followers: int
    """Streams this process is sending to clients."""
    event_lag: int
    """Events the followers of this process have not been sent yet, summed."""


class Metrics:
    """The metrics of one app, in a registry of its own (:attr:`registry`)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "scopegraph_runs",
            "Runs that ended in this process, by status",
            ["status"],
            registry=r,
        )
        self.active = Gauge("scopegraph_active_runs", "Runs executing in this process", registry=r)
        self.queued = Gauge(
            "scopegraph_queue_depth",
            "Runs waiting to start (scale-out: every pending run of the PostgreSQL queue)",
            registry=r,
        )
        self.queue_age = Gauge(
            "scopegraph_queue_oldest_age_seconds",
            "Age of the oldest run waiting to start (0 with none)",
            registry=r,
        )
        self.followers = Gauge(
            "scopegraph_stream_followers",
            "Event streams this process is sending to clients",
            registry=r,
        )
        self.event_lag = Gauge(
            "scopegraph_stream_event_lag_events",
            "Events of followed runs not yet sent to their followers, summed over followers",
            registry=r,
        )
        self.cleanup = Histogram(
            "scopegraph_cleanup_duration_seconds",
            "From a run's cancellation (request, disconnect, timeout, shutdown) to every "
            "node's cleanup finished",
            buckets=_CLEANUP_BUCKETS,
            registry=r,
        )
        self.checkpoint = Histogram(
            "scopegraph_checkpoint_latency_seconds",
            "Checkpointer calls (runs' steps, state and history requests), by operation",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.store = Histogram(
            "scopegraph_store_latency_seconds",
            "Calls to the server's thread and run store, by operation",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        # The labelled children, found once (``labels()`` costs more than ``observe``).
        self._runs: dict[str, Any] = {}
        self._checkpoint: dict[str, Any] = {}
        self._store: dict[str, Any] = {}

    def run_ended(self, status: str) -> None:
        child = self._runs.get(status)
        if child is None:
            child = self._runs[status] = self.runs.labels(status)
        child.inc()

    def cleanup_took(self, seconds: float) -> None:
        self.cleanup.observe(max(seconds, 0.0))

    def checkpoint_took(self, operation: str, seconds: float) -> None:
        child = self._checkpoint.get(operation)
        if child is None:
            child = self._checkpoint[operation] = self.checkpoint.labels(operation)
        child.observe(seconds)

    def store_took(self, operation: str, seconds: float) -> None:
        child = self._store.get(operation)
        if child is None:
            child = self._store[operation] = self.store.labels(operation)
        child.observe(seconds)

    def set_levels(self, stats: RunStats) -> None:
        """Set the gauges to the levels of ``stats``."""
        self.active.set(stats.active)
        self.queued.set(stats.queued)
        self.queue_age.set(stats.oldest_queued_seconds)
        self.followers.set(stats.followers)
        self.event_lag.set(stats.event_lag)

    def render(self, stats: RunStats) -> bytes:
        """The registry in Prometheus' text format, with the levels of ``stats``."""
        from prometheus_client import generate_latest

        self.set_levels(stats)
        return generate_latest(self.registry)

    async def serve(
        self,
        host: str,
        port: int,
        sample: Callable[[], Awaitable[RunStats]],
        *,
        every: float = 1.0,
        task_status: Any = None,
    ) -> None:
        """Serve the registry at ``http://host:port/metrics`` (prometheus-client's
        server, in a thread: a process without an HTTP API, a worker) until cancelled;
        the gauges are sampled every ``every`` seconds. ``task_status``: anyio's, started
        once it listens."""
        import anyio
        from prometheus_client import start_http_server

        self.set_levels(await sample())
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        try:
            if task_status is not None:
                task_status.started(server.server_port)
            while True:
                await anyio.sleep(every)
                self.set_levels(await sample())
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)


def open_metrics() -> Metrics | None:
    """A new app's metrics, or None without ``prometheus-client``."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return None
    return Metrics()


_SAVER_CALLS = ("aget_tuple", "alist", "aput", "aput_task")
_OBSERVERS = "_scopegraph_latency_observers"


def instrument_saver(saver: Any, observe: Callable[[str, float], None]) -> Callable[[], None]:
    """Time the saver's calls (``aget_tuple``, ``alist``, ``aput``, ``aput_task``: what
    runs and state requests call) into ``observe(operation, seconds)``; returns the
    function that stops.

    The saver's methods are wrapped once, on the instance, whichever number of apps observe
    it (an app that shares its checkpointer with another sees the other's calls too: they
    are calls to the same database)."""
    observers: list[Callable[[str, float], None]] | None = saver.__dict__.get(_OBSERVERS)
    if observers is None:
        observers = []
        setattr(saver, _OBSERVERS, observers)
        for name in _SAVER_CALLS:
            setattr(saver, name, _timed(name, getattr(saver, name), observers))
    observers.append(observe)

    def stop() -> None:
        if observe in observers:
            observers.remove(observe)

    return stop


def _timed(
    name: str, call: Callable[..., Awaitable[Any]], observers: list[Callable[[str, float], None]]
) -> Callable[..., Awaitable[Any]]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        if not observers:
            return await call(*args, **kwargs)
        start = time.perf_counter()
        try:
            return await call(*args, **kwargs)
        finally:
            took = time.perf_counter() - start
            for observe in observers:
                observe(name, took)

    timed.__name__ = name
    timed.__doc__ = call.__doc__
    return timed
