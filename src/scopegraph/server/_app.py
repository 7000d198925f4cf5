"""``create_app``: the run server as a FastAPI app, with its backend chosen once.

The layers, from the wire in:

- the guard (:mod:`._guard`): API key and body size, before routing;
- custom auth, when given (:mod:`._auth`): the request's user, before routing; the
  routes ask its handlers before they act;
- the routes (:mod:`._routes`): one router per resource; each handler parses the request
  (:mod:`._models`), calls the backend, and answers (:mod:`._http`, where domain errors
  become status codes);
- the backend (:class:`._domain.Backend`): :class:`.local.LocalBackend` (runs in this
  process) or :class:`.cluster.ClusterBackend` (runs in the PostgreSQL queue, events in
  Redis), each running runs through the one executor (:mod:`._executor`);
- the engine, through scopegraph's public graph API only.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import FastAPI

from ..checkpoint import BaseCheckpointSaver
from ..store import BaseStore
from ._domain import Backend
from ._graphs import Graphs, served_graph
from ._guard import Guard
from ._http import JSONResponse, install_error_handlers
from ._logs import RequestIdMiddleware
from ._long_term import close_store, open_store, sweeping
from ._metrics import Metrics, instrument_saver, open_metrics
from ._routes import add_routes
from ._settings import ServerSettings
from ._store import Documents, open_backend
from ._tracing import TraceContextMiddleware, Tracing

__all__ = ("create_app", "drain")


def create_app(
    graphs: Mapping[str, Any],
    checkpointer: BaseCheckpointSaver | None = None,
    *,
    database: str | None = None,
    settings: ServerSettings | None = None,
    redis: str | None = None,
    worker: bool = True,
    lease_seconds: float = 10.0,
    store: BaseStore | None = None,
    store_config: Mapping[str, Any] | None = None,
    tracer_provider: Any = None,
    auth: Any = None,
) -> FastAPI:
    """The run server as an ASGI app, to serve or to mount in a FastAPI app.

    Args:
        graphs: ``{graph_id: compiled graph}``; each is one assistant. A LangGraph
            compiled graph is adopted (:func:`scopegraph.langgraph.adopt`: rebuilt on
            scopegraph's engine, with ``checkpointer``) when it can be; otherwise it is
            served through :func:`scopegraph.langgraph.bridge`, with its own
            checkpointer (LangGraph's ``InMemorySaver`` if it was compiled without).
            ``app.state.served`` says which, and why.
        checkpointer: where threads keep their checkpoints (None: stateless runs only).
        database: where threads and runs are recorded (a SQLite path or a
            ``postgresql://`` URL); None keeps them in memory.
        settings: API key, limits, heartbeat and shutdown grace.
        redis: scale-out mode (see :mod:`scopegraph.server.cluster`): events in this
            Redis, runs and threads in the PostgreSQL ``database``, where the
            ``checkpointer`` must keep its checkpoints too. Any number of processes
            serve the same runs.
        worker: in scale-out mode, whether this process also runs queued runs (False:
            an API-only process; ``scopegraph worker`` processes run them).
        lease_seconds: in scale-out mode, the lease of this process's worker.
        tracer_provider: an OpenTelemetry ``TracerProvider``: spans of runs and nodes go
            there (``docs/operations.md``); None: no tracing.
        store: the long-term memory of ``/store/...`` and of the served graphs
            (``runtime.store``) that have none of their own. By default one in
            ``database`` (:class:`~scopegraph.store.SqliteStore` in the SQLite file,
            :class:`~scopegraph.store.PostgresStore` in PostgreSQL), or in memory.
        store_config: the options of that default store (``store`` of a
            ``langgraph.json``): ``index`` (semantic search: ``embed``, ``dims``,
            ``fields``) and ``ttl`` (``default_ttl``, ``refresh_on_read``,
            ``sweep_interval_minutes``); with a ``ttl``, the app sweeps the store's
            expired items while it runs. Not with ``store``: configure your own store.
        auth: custom auth: a ``langgraph_sdk.Auth`` object, as a ``langgraph.json``'s
            ``auth.path`` names one; its handlers authenticate every request to the API's
            resources and authorize each read, search, change and run
            (:mod:`scopegraph.server._auth`). With ``settings.api_key`` too, a request
            needs both.
    """
    if not graphs:
        raise ValueError("create_app() needs at least one graph: graphs={'name': graph}")
    settings = settings or ServerSettings()
    custom_auth = None
    if auth is not None:
        from ._auth import CustomAuth

        custom_auth = auth if isinstance(auth, CustomAuth) else CustomAuth(auth)
    owned_store = store is None
    if store is None:
        store = open_store(database, **(store_config or {}))
    elif store_config:
        raise ValueError(
            "create_app(): pass either store= (your own store, configured as you built it) "
            "or store_config= (the options of the server's store), not both"
        )
    how = {name: served_graph(name, g) for name, g in graphs.items()}
    served = Graphs({name: s.graph for name, s in how.items()}, checkpointer, store)
    backend: Backend
    if redis is not None:
        from .cluster import open_cluster

        backend = open_cluster(
            served, database, redis, settings, worker=worker, lease_seconds=lease_seconds
        )
    else:
        from .local import LocalBackend

        backend = LocalBackend(served, Documents(open_backend(database)), settings)
    metrics = open_metrics() if settings.metrics else None
    tracing = None if tracer_provider is None else Tracing(tracer_provider)
    stop_timing = _observe(backend, served, metrics, tracing)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The TTL sweeper of the store the app opened (LangGraph's server, too, sweeps
        # its own store only, never a custom one).
        sweeper = sweeping(store) if owned_store else contextlib.nullcontext()
        try:
            async with backend.lifespan(), sweeper:
                yield
        finally:
            stop_timing()
            if owned_store:
                await close_store(store)

    app = FastAPI(
        title="scopegraph run server",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.backend = backend
    app.state.served = how  # how each graph runs (scopegraph, adopted, bridged): Served
    app.state.settings = settings
    app.state.store = store
    app.state.server = backend  # the name tests and tools used before the split
    app.state.metrics = metrics
    app.state.auth = custom_auth
    install_error_handlers(app)
    if custom_auth is not None:  # inside the guard: the API key is checked first
        from ._auth import AuthMiddleware

        app.add_middleware(AuthMiddleware, auth=custom_auth, routes=lambda: app.router.routes)
    app.add_middleware(Guard, settings=settings)
    if settings.cors is not None:  # a langgraph.json's http.cors, as given
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, **settings.cors)
    elif settings.cors_origins:  # off by default: a page of another origin gets no answer
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Content-Location", "Location"],
        )
    add_routes(app)
    if tracing is not None:
        app.add_middleware(TraceContextMiddleware)
    if settings.log_format == "json":
        app.add_middleware(RequestIdMiddleware)
    return app


def _observe(
    backend: Backend, served: Graphs, metrics: Metrics | None, tracing: Tracing | None
) -> Callable[[], None]:
    """Give the backend the app's metrics and tracing, and time the checkpointer's calls
    when metrics are on; returns what stops that timing (the saver may be shared)."""
    backend.observe(metrics, tracing)
    if metrics is None or served.checkpointer is None:
        return lambda: None
    return instrument_saver(served.checkpointer, metrics.checkpoint_took)


async def drain(app: FastAPI, grace: float | None = None) -> None:
    """Stop taking runs; give running ones ``grace`` seconds (default: the app's
    ``shutdown_grace_seconds``), then cancel them; return when every run has ended, its
    cleanup finished, its checkpoint is saved and its stream got its final event.

    ``scopegraph serve`` calls this on SIGTERM before uvicorn closes connections. When
    you serve the app yourself, call it from your server's shutdown trigger first: the
    lifespan's own shutdown comes after the server has already cut the streams.
    """
    backend: Backend = app.state.backend
    settings: ServerSettings = app.state.settings
    await backend.drain(settings.shutdown_grace_seconds if grace is None else grace)
