"""The HTTP API: the LangGraph server's paths, bodies and responses, as the SDK uses them."""

from __future__ import annotations

import contextlib
import logging
import typing
import uuid
from collections.abc import AsyncIterator, Mapping
from importlib import resources
from typing import Annotated, Any, Literal, Protocol

import anyio
from fastapi import Body, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._compiled import CompiledStateGraph
from .._errors import ScopegraphError
from ..checkpoint._base import BaseCheckpointSaver, CheckpointError, CheckpointNotFoundError
from ._runs import ALWAYS_SENT, TERMINAL, ApiError, CancelAction, Live, RunManager, is_bridged
from ._store import Documents, StoreError, open_backend
from ._wire import check_input, dumps, graph_json, is_uuid, now_iso, schemas_json, snapshot_json

if typing.TYPE_CHECKING:
    from ._cluster import Cluster

__all__ = ("ServerSettings", "create_app", "drain")

log = logging.getLogger("scopegraph.server")

StreamModeName = Literal[
    "values", "updates", "custom", "events", "debug", "tasks", "checkpoints", "messages-tuple"
]
_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


class ServerSettings(BaseModel):
    """Knobs of :func:`create_app`."""

    api_key: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    heartbeat_seconds: float = 5.0
    send_timeout_seconds: float = 30.0
    shutdown_grace_seconds: float = 10.0
    resumable_ttl_seconds: float = 300.0
    run_timeout_seconds: float | None = None
    """Runs that take longer are cancelled and end with status ``timeout`` (a run's own
    ``timeout`` field, in seconds, overrides it)."""


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def served_graph(name: str, graph: Any) -> Any:
    """A scopegraph compiled graph as is; a LangGraph one, bridged."""
    if isinstance(graph, CompiledStateGraph) or is_bridged(graph):
        return graph
    if type(graph).__module__.startswith("langgraph."):
        from ..langgraph import bridge

        return bridge(graph)
    raise TypeError(
        f"graph {name!r} is a {type(graph).__name__}, not a compiled graph: pass "
        "StateGraph(...).compile() (scopegraph's or LangGraph's)"
    )


class _EventSource(EventSourceResponse):
    """sse-starlette's response; a client dropped for not reading within the send
    timeout ends the response quietly (the stream's own ``finally`` handles the run)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except* SendTimeoutError:
            log.info("dropped a client that stopped reading (send timeout)")


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


# -- request bodies -----------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class CommandBody(_Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(_Body):
    assistant_id: str
    input: dict[str, Any] | None = None
    command: CommandBody | None = None
    stream_mode: StreamModeName | list[StreamModeName] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    timeout: float | None = Field(default=None, gt=0)
    """scopegraph's extension: seconds after which the run is cancelled (``timeout``)."""


class ThreadCreate(_Body):
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None


class ThreadPatch(_Body):
    metadata: dict[str, Any] | None = None


class ThreadSearch(_Body):
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class AssistantSearch(_Body):
    graph_id: str | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class StateUpdate(_Body):
    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None


class HistoryQuery(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None


class StateCheckpoint(_Body):
    checkpoint: dict[str, Any]
    subgraphs: bool = False


# -- middleware ---------------------------------------------------------------------------

_OPEN_PATHS = frozenset({"/", "/ok", "/openapi.json", "/docs", "/favicon.ico"})


class _Guard:
    """API key and body size, before any routing or parsing."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = self.settings.api_key
        if key is not None and scope["path"] not in _OPEN_PATHS:
            given = headers.get(b"x-api-key")
            if given is None:
                await _error(
                    401, "Unauthorized", "missing API key: send it in the x-api-key header"
                )(scope, receive, send)
                return
            if given.decode("latin-1") != key:
                await _error(401, "Unauthorized", "wrong API key in the x-api-key header")(
                    scope, receive, send
                )
                return
        limit = self.settings.max_body_bytes
        length = headers.get(b"content-length")
        too_large = _error(413, "PayloadTooLarge", f"the request body is larger than {limit} bytes")
        if length is not None and length.isdigit() and int(length) > limit:
            await too_large(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # A body without a (trusted) length is read here, up to the limit, then replayed.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# -- the application ----------------------------------------------------------------------


class _Server:
    """The state behind the routes."""

    def __init__(
        self,
        graphs: Mapping[str, CompiledStateGraph],
        checkpointer: BaseCheckpointSaver | None,
        docs: Documents,
        settings: ServerSettings,
        cluster: Cluster | None = None,
    ) -> None:
        self.cluster = cluster
        self.graphs = dict(graphs)
        self.checkpointer = checkpointer
        self.settings = settings
        self.docs = docs
        for graph in self.graphs.values():
            if not is_bridged(graph):
                graph.checkpointer = checkpointer
            elif graph.checkpointer is None:  # a LangGraph graph compiled without one
                from langgraph.checkpoint.memory import InMemorySaver

                graph.graph.checkpointer = InMemorySaver()  # type: ignore[attr-defined]
        self.manager = RunManager(
            self.graphs,
            checkpointer,
            docs,
            resumable_ttl=settings.resumable_ttl_seconds,
            run_timeout=settings.run_timeout_seconds,
        )
        self.assistants = {
            str(uuid.uuid5(_ASSISTANT_NAMESPACE, name)): name for name in self.graphs
        }
        self.created_at = now_iso()

    # -- lookups -------------------------------------------------------------------------

    def assistant(self, assistant_id: str) -> tuple[str, str]:
        """(assistant_id, graph_id) of an assistant id or a graph name."""
        if assistant_id in self.graphs:
            return str(uuid.uuid5(_ASSISTANT_NAMESPACE, assistant_id)), assistant_id
        if not is_uuid(assistant_id):
            raise ApiError(
                404,
                "NotFound",
                f"assistant {assistant_id!r} not found: pass a graph name or an assistant "
                f"id; the graphs are {', '.join(map(repr, self.graphs))}",
            )
        graph_id = self.assistants.get(str(uuid.UUID(assistant_id)))
        if graph_id is None:
            raise ApiError(404, "NotFound", f"assistant {assistant_id} not found")
        return str(uuid.UUID(assistant_id)), graph_id

    def assistant_json(self, assistant_id: str, graph_id: str) -> dict[str, Any]:
        return {
            "assistant_id": assistant_id,
            "graph_id": graph_id,
            "name": graph_id,
            "description": None,
            "config": {},
            "context": {},
            "metadata": {"created_by": "system"},
            "version": 1,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }

    @staticmethod
    def check_id(value: str, what: str) -> str:
        if not is_uuid(value):
            raise ApiError(422, "InvalidId", f"{what} {value!r} is not a UUID")
        return str(uuid.UUID(value))

    async def thread(self, thread_id: str) -> dict[str, Any]:
        thread_id = self.check_id(thread_id, "thread_id")
        if self.cluster is not None:
            thread = await self.cluster.thread_row(thread_id)
        else:
            thread = self.docs.threads.get(thread_id)
        if thread is None:
            raise ApiError(404, "NotFound", f"thread {thread_id} not found")
        return thread

    async def run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        """The run's record (single process) or its queue row (cluster)."""
        await self.thread(thread_id)
        run_id = self.check_id(run_id, "run_id")
        if self.cluster is not None:
            run = await self.cluster.get(run_id)
        else:
            run = self.docs.runs.get(run_id)
        if run is None or run["thread_id"] != str(uuid.UUID(thread_id)):
            raise ApiError(404, "NotFound", f"run {run_id} not found in thread {thread_id}")
        return run

    def graph_of_thread(self, thread: Mapping[str, Any]) -> Any:
        graph_id = thread.get("metadata", {}).get("graph_id")
        if graph_id in self.graphs:
            return self.graphs[graph_id]
        return next(iter(self.graphs.values()))

    def saver(self, graph: Any = None) -> Any:
        if is_bridged(graph):
            return graph.checkpointer
        if self.checkpointer is None:
            raise ApiError(
                422, "NoCheckpointer", "this server has no checkpointer: threads keep no state"
            )
        return self.checkpointer

    async def thread_json(self, thread: dict[str, Any]) -> dict[str, Any]:
        graph = self.graph_of_thread(thread)
        if self.cluster is not None:
            return await self.cluster.thread_json(thread, graph)
        out = dict(thread)
        if self.checkpointer is not None or is_bridged(graph):
            snapshot = await graph.aget_state({"configurable": {"thread_id": thread["thread_id"]}})
            out["values"] = snapshot.values if snapshot.created_at is not None else None
            out["interrupts"] = {
                task.id: [{"value": i.value, "id": i.id} for i in task.interrupts]
                for task in snapshot.tasks
                if task.interrupts
            }
        return out

    # -- runs ----------------------------------------------------------------------------

    async def create_run(
        self, thread_id: str | None, body: RunCreate, *, follow: bool = False
    ) -> tuple[Live, int | None]:
        kwargs = await self.prepare_run(thread_id, body)
        return await self.manager.create(**kwargs, follow=follow)

    async def create_cluster_run(self, thread_id: str | None, body: RunCreate) -> dict[str, Any]:
        """Queue a run (scale-out mode); its queue row."""
        assert self.cluster is not None
        return await self.cluster.create(**await self.prepare_run(thread_id, body))

    async def _ensure_thread(self, thread_id: str, graph_id: str, create: bool) -> None:
        """The thread must exist (or is created, with ``if_not_exists='create'``); it
        records the graph of its runs in its metadata."""
        missing = ApiError(
            404,
            "NotFound",
            f"thread {thread_id} not found; create it first, or pass if_not_exists='create'",
        )
        if self.cluster is not None:
            queue = self.cluster.queue
            row = await queue.get_thread(thread_id)
            if row is None:
                if not create:
                    raise missing
                row, _ = await queue.create_thread(thread_id, {"graph_id": graph_id})
            if row["metadata"].get("graph_id") != graph_id:
                await queue.patch_thread(thread_id, {"graph_id": graph_id})
            return
        if thread_id not in self.docs.threads:
            if not create:
                raise missing
            await self.docs.save(
                "thread",
                {
                    "thread_id": thread_id,
                    "created_at": now_iso(),
                    "updated_at": now_iso(),
                    "metadata": {"graph_id": graph_id},
                    "status": "idle",
                    "config": {},
                    "values": None,
                    "interrupts": {},
                },
            )

    async def prepare_run(self, thread_id: str | None, body: RunCreate) -> dict[str, Any]:
        """Check a run request; the arguments of the run's creation."""
        assistant_id, graph_id = self.assistant(body.assistant_id)
        graph = self.graphs[graph_id]
        temporary = thread_id is None
        if thread_id is not None:
            thread_id = self.check_id(thread_id, "thread_id")
            await self._ensure_thread(thread_id, graph_id, body.if_not_exists == "create")
        if body.input is not None and body.command is not None:
            raise ApiError(422, "InvalidRun", "pass either input or command (to resume), not both")
        if body.input is not None:
            problem = check_input(graph, body.input)
            if problem is not None:
                raise ApiError(422, "InvalidInput", problem)
        for key in ("interrupt_before", "interrupt_after"):
            nodes = getattr(body, key)
            if isinstance(nodes, list):
                unknown = [n for n in nodes if n not in graph.nodes]
                if unknown:
                    raise ApiError(
                        422,
                        "InvalidRun",
                        f"{key} names unknown nodes {unknown}; the nodes of {graph_id!r} are "
                        f"{list(graph.nodes)}",
                    )
        stateless = self.checkpointer is None and not is_bridged(graph)
        if body.input is None and body.command is None and (temporary or stateless):
            raise ApiError(
                422,
                "InvalidInput",
                "the input is null: pass the initial state, or run on a thread with "
                "saved state to resume it",
            )
        payload = body.model_dump()
        if body.command is not None:
            payload["command"] = body.command.model_dump(exclude_none=True)
        return {
            "graph_id": graph_id,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "payload": payload,
            "temporary": temporary,
        }

    def stream_response(
        self,
        live: Live,
        token: int,
        *,
        modes: frozenset[str] | None = None,
        cancel_on_disconnect: bool,
        location: str,
        content_location: str,
    ) -> EventSourceResponse:
        manager = self.manager

        async def body() -> AsyncIterator[bytes]:
            try:
                async with contextlib.aclosing(live.follow(token, modes)) as frames:
                    async for chunk in frames:
                        yield chunk
            finally:
                live.unsubscribe(token)
                if cancel_on_disconnect and not live.done.is_set():
                    with anyio.CancelScope(shield=True):
                        manager.cancel(live, "interrupt", "client disconnected")
                        await live.done.wait()

        return _EventSource(
            body(),
            ping=self.settings.heartbeat_seconds,
            send_timeout=self.settings.send_timeout_seconds,
            headers={"Location": location, "Content-Location": content_location},
        )

    async def final_values(self, live: Live) -> Any:
        await live.done.wait()
        if live.error is not None:
            return {"__error__": live.error}
        values = live.result
        stateful = self.checkpointer is not None or is_bridged(live.graph)
        if stateful and live.record["status"] != "error":
            snapshot = await live.graph.aget_state(
                {"configurable": {"thread_id": live.record["thread_id"]}}
            )
            if snapshot.created_at is not None:
                values = dict(snapshot.values)
                if snapshot.interrupts:
                    values["__interrupt__"] = [
                        {"value": i.value, "id": i.id} for i in snapshot.interrupts
                    ]
        return values


def create_app(
    graphs: Mapping[str, Any],
    checkpointer: BaseCheckpointSaver | None = None,
    *,
    database: str | None = None,
    settings: ServerSettings | None = None,
    redis: str | None = None,
    worker: bool = True,
    lease_seconds: float = 10.0,
) -> FastAPI:
    """The run server as an ASGI app, to serve or to mount in a FastAPI app.

    Args:
        graphs: ``{graph_id: compiled graph}``; each is one assistant. A LangGraph
            compiled graph is served through :func:`scopegraph.langgraph.bridge`, with its
            own checkpointer (LangGraph's ``InMemorySaver`` if it was compiled without).
        checkpointer: where threads keep their checkpoints (None: stateless runs only).
        database: where threads and runs are recorded (a SQLite path or a
            ``postgresql://`` URL); None keeps them in memory.
        settings: API key, limits, heartbeat and shutdown grace.
        redis: scale-out mode (see :mod:`scopegraph.server._cluster`): events in this
            Redis, runs and threads in the PostgreSQL ``database``, where the
            ``checkpointer`` must keep its checkpoints too. Any number of processes
            serve the same runs.
        worker: in scale-out mode, whether this process also runs queued runs (False:
            an API-only process; ``scopegraph worker`` processes run them).
        lease_seconds: in scale-out mode, the lease of this process's worker.
    """
    if not graphs:
        raise ValueError("create_app() needs at least one graph: graphs={'name': graph}")
    graphs = {name: served_graph(name, graph) for name, graph in graphs.items()}
    settings = settings or ServerSettings()
    cluster = None
    if redis is not None:
        cluster = _cluster(graphs, checkpointer, database, redis, lease_seconds)
        docs = Documents(open_backend(None))
    else:
        docs = Documents(open_backend(database))
    server = _Server(graphs, checkpointer, docs, settings, cluster)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if cluster is not None:
            async with _cluster_life(cluster, graphs, settings, worker):
                yield
            return
        await anyio.to_thread.run_sync(docs.load)
        async with anyio.create_task_group() as tg:
            await tg.start(server.manager.serve)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await server.manager.shutdown(settings.shutdown_grace_seconds)
                tg.cancel_scope.cancel()
        await anyio.to_thread.run_sync(docs.close)

    app = FastAPI(
        title="scopegraph run server",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.server = server

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _error(exc.status, exc.error, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "InvalidJSON", "the request body is not valid JSON")
        parts = []
        for e in errors[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where or 'body'}: {e.get('msg')}")
        return _error(422, "ValidationError", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        names = {404: "NotFound", 405: "MethodNotAllowed"}
        return _error(exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail))

    @app.exception_handler(CheckpointNotFoundError)
    async def not_found(request: Request, exc: CheckpointNotFoundError) -> Response:
        return _error(404, "NotFound", str(exc))

    @app.exception_handler(ScopegraphError)
    async def graph_error(request: Request, exc: ScopegraphError) -> Response:
        status = 409 if isinstance(exc, CheckpointError) else 422
        return _error(status, type(exc).__name__, str(exc))

    @app.exception_handler(StoreError)
    async def store_unavailable(request: Request, exc: StoreError) -> Response:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _error(503, "ServiceUnavailable", f"{exc}; try again shortly")

    if database is not None and database.startswith(("postgresql://", "postgres://")):
        _service_errors(app, cluster is not None)
    app.add_middleware(_Guard, settings=settings)
    _routes(app, server)
    return app


def _service_errors(app: FastAPI, cluster: bool) -> None:
    """A database or Redis that cannot be reached: 503, with the reason, not a 500."""
    from ..checkpoint._postgres import CheckpointConnectionError

    errors: list[type[Exception]] = [CheckpointConnectionError]
    if cluster:
        from ._pg_queue import QueueConnectionError
        from ._redis_events import EventLogConnectionError

        errors += [QueueConnectionError, EventLogConnectionError]

    async def unavailable(request: Request, exc: Exception) -> Response:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _error(503, "ServiceUnavailable", f"{exc}; try again shortly")

    for error in errors:
        app.add_exception_handler(error, unavailable)
    if cluster:
        from ._pg_queue import QueueError

        async def refused(request: Request, exc: Exception) -> Response:
            return _error(409, "Conflict", str(exc))

        app.add_exception_handler(QueueError, refused)


def _cluster(
    graphs: Mapping[str, Any],
    checkpointer: BaseCheckpointSaver | None,
    database: str | None,
    redis: str,
    lease_seconds: float,
) -> Cluster:
    from ..checkpoint import PostgresSaver
    from ._cluster import Cluster
    from ._pg_queue import RunQueue
    from ._redis_events import RedisEventLog

    if database is None or not database.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            "scale-out mode (redis=...) keeps runs and threads in PostgreSQL: pass "
            "database='postgresql://...' (scopegraph serve --db postgresql://...)"
        )
    if not isinstance(checkpointer, PostgresSaver):
        raise ValueError(
            "scale-out mode (redis=...) needs the checkpoints in PostgreSQL, where every "
            "process reads them: pass checkpointer=PostgresSaver(database)"
        )
    bridged = [name for name, graph in graphs.items() if is_bridged(graph)]
    if bridged:
        raise ValueError(
            f"graphs {bridged} are LangGraph graphs: scale-out mode runs scopegraph graphs "
            "only (their checkpoints must be in the shared PostgreSQL); port them by "
            "changing the imports to scopegraph, or serve them without --redis"
        )
    return Cluster(RunQueue(database, lease_seconds=lease_seconds), RedisEventLog(redis), graphs)


@contextlib.asynccontextmanager
async def _cluster_life(
    cluster: Cluster, graphs: Mapping[str, Any], settings: ServerSettings, worker: bool
) -> AsyncIterator[None]:
    from ._worker import Worker, reap_forever

    async with cluster.queue, cluster.events, anyio.create_task_group() as tg:
        await tg.start(cluster.hub.run)
        if worker:
            cluster.worker = Worker(
                graphs,
                cluster.queue,
                cluster.events,
                run_timeout=settings.run_timeout_seconds,
            )
            await tg.start(cluster.worker.run)
            tg.start_soon(reap_forever, cluster.queue)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await cluster.drain(settings.shutdown_grace_seconds)
            tg.cancel_scope.cancel()


async def drain(app: FastAPI, grace: float | None = None) -> None:
    """Stop taking runs; give running ones ``grace`` seconds (default: the app's
    ``shutdown_grace_seconds``), then cancel them; return when every run has ended, its
    cleanup finished, its checkpoint is saved and its stream got its final event.

    ``scopegraph serve`` calls this on SIGTERM before uvicorn closes connections. When
    you serve the app yourself, call it from your server's shutdown trigger first: the
    lifespan's own shutdown comes after the server has already cut the streams.
    """
    server: _Server = app.state.server
    if server.cluster is not None:
        await server.cluster.drain(
            server.settings.shutdown_grace_seconds if grace is None else grace
        )
        return
    await server.manager.shutdown(
        server.settings.shutdown_grace_seconds if grace is None else grace
    )


def _page() -> str:
    return resources.files("scopegraph.server").joinpath("playground.html").read_text("utf-8")


def _routes(app: FastAPI, server: _Server) -> None:
    manager = server.manager

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def playground() -> HTMLResponse:
        return HTMLResponse(_page())

    @app.get("/ok")
    async def ok() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        if server.cluster is None:
            return {
                "version": "0.1.0",
                "flags": {"assistants": True, "crons": False},
                "graphs": list(server.graphs),
                "cleanups_finished": manager.cleanups_finished,
                "runs_in_memory": len(manager.live),
                "runs_running": sum(not live.done.is_set() for live in manager.live.values()),
                "accepting_runs": manager.accepting,
            }
        worker = server.cluster.worker
        return {
            "version": "0.1.0",
            "flags": {"assistants": True, "crons": False},
            "graphs": list(server.graphs),
            "mode": "cluster",
            "worker_id": None if worker is None else worker.worker_id,
            "cleanups_finished": 0 if worker is None else worker.cleanups_finished,
            "runs_running": 0 if worker is None else len(worker.running),
            "accepting_runs": not server.cluster.draining,
        }

    # -- assistants ----------------------------------------------------------------------

    @app.post("/assistants/search")
    async def search_assistants(body: AssistantSearch) -> list[dict[str, Any]]:
        found = [
            server.assistant_json(aid, gid)
            for aid, gid in server.assistants.items()
            if body.graph_id is None or gid == body.graph_id
        ]
        return found[body.offset : body.offset + body.limit]

    @app.get("/assistants/{assistant_id}")
    async def get_assistant(assistant_id: str) -> dict[str, Any]:
        return server.assistant_json(*server.assistant(assistant_id))

    @app.get("/assistants/{assistant_id}/graph")
    async def get_graph(assistant_id: str, xray: bool | int = False) -> dict[str, Any]:
        _, graph_id = server.assistant(assistant_id)
        return graph_json(server.graphs[graph_id])

    @app.get("/assistants/{assistant_id}/schemas")
    async def get_schemas(assistant_id: str) -> dict[str, Any]:
        _, graph_id = server.assistant(assistant_id)
        return schemas_json(graph_id, server.graphs[graph_id])

    @app.get("/assistants/{assistant_id}/subgraphs")
    async def get_subgraphs(assistant_id: str) -> dict[str, Any]:
        server.assistant(assistant_id)
        return {}

    # -- threads -------------------------------------------------------------------------

    @app.post("/threads")
    async def create_thread(body: Annotated[ThreadCreate | None, Body()] = None) -> Any:
        body = body or ThreadCreate()
        thread_id = server.check_id(body.thread_id, "thread_id") if body.thread_id else None
        thread_id = thread_id or str(uuid.uuid4())
        if server.cluster is not None:
            row, created = await server.cluster.queue.create_thread(thread_id, body.metadata)
            if not created and body.if_exists != "do_nothing":
                raise ApiError(409, "Conflict", f"thread {thread_id} already exists")
            return await server.thread_json(row)
        existing = server.docs.threads.get(thread_id)
        if existing is not None:
            if body.if_exists == "do_nothing":
                return await server.thread_json(existing)
            raise ApiError(409, "Conflict", f"thread {thread_id} already exists")
        now = now_iso()
        thread = {
            "thread_id": thread_id,
            "created_at": now,
            "updated_at": now,
            "metadata": body.metadata or {},
            "status": "idle",
            "config": {},
            "values": None,
            "interrupts": {},
        }
        await server.docs.save("thread", thread)
        return thread

    @app.post("/threads/search")
    async def search_threads(
        body: Annotated[ThreadSearch | None, Body()] = None,
    ) -> list[dict[str, Any]]:
        body = body or ThreadSearch()
        if server.cluster is not None:
            queue = server.cluster.queue
            if body.status is None:
                rows = await queue.search_threads(
                    body.metadata, limit=body.limit, offset=body.offset
                )
                return [await server.thread_json(r) for r in rows]
            # the status comes from runs and checkpoints: filter, then page
            shown = [
                await server.thread_json(r)
                for r in await queue.search_threads(body.metadata, limit=10_000)
            ]
            matching = [t for t in shown if t["status"] == body.status]
            return matching[body.offset : body.offset + body.limit]
        found = []
        for thread in sorted(
            server.docs.threads.values(), key=lambda t: t["created_at"], reverse=True
        ):
            meta = thread.get("metadata", {})
            if body.metadata and any(meta.get(k) != v for k, v in body.metadata.items()):
                continue
            if body.status and thread.get("status") != body.status:
                continue
            found.append(thread)
        return [await server.thread_json(t) for t in found[body.offset : body.offset + body.limit]]

    @app.get("/threads/{thread_id}")
    async def get_thread(thread_id: str) -> dict[str, Any]:
        return await server.thread_json(await server.thread(thread_id))

    @app.patch("/threads/{thread_id}")
    async def patch_thread(thread_id: str, body: ThreadPatch) -> dict[str, Any]:
        thread = dict(await server.thread(thread_id))
        if server.cluster is not None:
            patched = await server.cluster.queue.patch_thread(
                thread["thread_id"], body.metadata or {}
            )
            if patched is None:
                raise ApiError(404, "NotFound", f"thread {thread_id} not found")
            return await server.thread_json(patched)
        thread["metadata"] = {**thread.get("metadata", {}), **(body.metadata or {})}
        thread["updated_at"] = now_iso()
        await server.docs.save("thread", thread)
        return await server.thread_json(thread)

    @app.delete("/threads/{thread_id}", status_code=204)
    async def delete_thread(thread_id: str) -> Response:
        thread = await server.thread(thread_id)
        tid = thread["thread_id"]
        if server.cluster is not None:
            await server.cluster.delete_thread(tid, server.checkpointer)
            return Response(status_code=204)
        for live in list(manager.live.values()):
            if live.record["thread_id"] == tid and not live.done.is_set():
                manager.cancel(live, "interrupt", "thread deleted")
                await live.done.wait()
        graph = server.graph_of_thread(thread)
        if is_bridged(graph):
            await graph.checkpointer.adelete_thread(tid)
        elif server.checkpointer is not None:
            await server.checkpointer.adelete_thread(tid)
        for run_id in [r for r, run in server.docs.runs.items() if run["thread_id"] == tid]:
            await server.docs.delete("run", run_id)
        await server.docs.delete("thread", tid)
        return Response(status_code=204)

    async def state_of(thread_id: str, checkpoint_id: str | None) -> dict[str, Any]:
        thread = await server.thread(thread_id)
        graph = server.graph_of_thread(thread)
        server.saver(graph)
        configurable = {"thread_id": thread["thread_id"]}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        snapshot = await graph.aget_state({"configurable": configurable})
        if checkpoint_id and snapshot.created_at is None:
            raise ApiError(404, "NotFound", f"checkpoint {checkpoint_id} not found")
        return snapshot_json(snapshot, thread["thread_id"])

    @app.get("/threads/{thread_id}/state")
    async def get_state(thread_id: str, subgraphs: bool = False) -> dict[str, Any]:
        return await state_of(thread_id, None)

    @app.get("/threads/{thread_id}/state/{checkpoint_id}")
    async def get_state_at(thread_id: str, checkpoint_id: str) -> dict[str, Any]:
        return await state_of(thread_id, checkpoint_id)

    @app.post("/threads/{thread_id}/state/checkpoint")
    async def get_state_checkpoint(thread_id: str, body: StateCheckpoint) -> dict[str, Any]:
        return await state_of(thread_id, body.checkpoint.get("checkpoint_id"))

    @app.post("/threads/{thread_id}/state")
    async def update_state(thread_id: str, body: StateUpdate) -> dict[str, Any]:
        thread = await server.thread(thread_id)
        graph = server.graph_of_thread(thread)
        server.saver(graph)
        tail = manager._tails.get(thread["thread_id"])
        busy = thread["busy"] if server.cluster is not None else tail and not tail.done.is_set()
        if busy:
            raise ApiError(409, "Conflict", f"thread {thread_id} is busy with a run")
        configurable = {"thread_id": thread["thread_id"]}
        checkpoint_id = body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id")
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        config = await graph.aupdate_state(
            {"configurable": configurable}, body.values, as_node=body.as_node
        )
        conf = config["configurable"]
        return {
            "checkpoint": {
                "thread_id": conf["thread_id"],
                "checkpoint_ns": conf.get("checkpoint_ns", ""),
                "checkpoint_id": conf["checkpoint_id"],
                "checkpoint_map": None,
            }
        }

    async def history(thread_id: str, limit: int, before: Any, metadata: Any) -> list[Any]:
        thread = await server.thread(thread_id)
        graph = server.graph_of_thread(thread)
        server.saver(graph)
        before_id = before.get("checkpoint_id") if isinstance(before, dict) else before
        before_config = {"configurable": {"checkpoint_id": before_id}} if before_id else None
        return [
            snapshot_json(s, thread["thread_id"])
            async for s in graph.aget_state_history(
                {"configurable": {"thread_id": thread["thread_id"]}},
                filter=metadata,
                before=before_config,
                limit=limit,
            )
        ]

    @app.post("/threads/{thread_id}/history")
    async def post_history(
        thread_id: str, body: Annotated[HistoryQuery | None, Body()] = None
    ) -> list[Any]:
        body = body or HistoryQuery()
        return await history(thread_id, body.limit, body.before, body.metadata)

    @app.get("/threads/{thread_id}/history")
    async def get_history(
        thread_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 10, before: str | None = None
    ) -> list[Any]:
        return await history(thread_id, limit, before, None)

    if server.cluster is not None:
        from ._cluster import ClusterRuns

        _run_routes(app, ClusterRuns(server, server.cluster))
    else:
        _run_routes(app, _LocalRuns(server))


class RunEndpoints(Protocol):
    """What the run endpoints do: in one process (:class:`_LocalRuns`, the run manager)
    or across processes (:class:`scopegraph.server._cluster.ClusterRuns`). The routes
    (paths, parameters) are declared once, in :func:`_run_routes`."""

    async def create(self, thread_id: str | None, body: RunCreate) -> Response: ...
    async def stream(self, thread_id: str | None, body: RunCreate) -> Response: ...
    async def wait(self, thread_id: str | None, body: RunCreate) -> Response: ...
    async def list(
        self, thread_id: str, limit: int, offset: int, status: str | None
    ) -> list[dict[str, Any]]: ...
    async def get(self, thread_id: str, run_id: str) -> dict[str, Any]: ...
    async def delete(self, thread_id: str, run_id: str) -> None: ...
    async def join(self, thread_id: str, run_id: str) -> Response: ...
    async def join_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        cancel_on_disconnect: bool,
        modes: frozenset[str] | None,
        last_event_id: str | None,
    ) -> Response: ...
    async def cancel(
        self, thread_id: str, run_id: str, *, wait: bool, action: CancelAction
    ) -> Response: ...


RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]


def _run_routes(app: FastAPI, runs: RunEndpoints) -> None:
    @app.post("/threads/{thread_id}/runs")
    async def create_run(thread_id: str, body: RunCreate) -> Response:
        return await runs.create(thread_id, body)

    @app.post("/runs")
    async def create_stateless_run(body: RunCreate) -> Response:
        return await runs.create(None, body)

    @app.post("/threads/{thread_id}/runs/stream")
    async def stream_run(thread_id: str, body: RunCreate) -> Response:
        return await runs.stream(thread_id, body)

    @app.post("/runs/stream")
    async def stream_stateless_run(body: RunCreate) -> Response:
        return await runs.stream(None, body)

    @app.post("/threads/{thread_id}/runs/wait")
    async def wait_run(thread_id: str, body: RunCreate) -> Response:
        return await runs.wait(thread_id, body)

    @app.post("/runs/wait")
    async def wait_stateless_run(body: RunCreate) -> Response:
        return await runs.wait(None, body)

    @app.get("/threads/{thread_id}/runs")
    async def list_runs(
        thread_id: str,
        limit: Annotated[int, Query(ge=1, le=1000)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
        status: RunStatus | None = None,
    ) -> list[dict[str, Any]]:
        return await runs.list(thread_id, limit, offset, status)

    @app.get("/threads/{thread_id}/runs/{run_id}")
    async def get_run(thread_id: str, run_id: str) -> dict[str, Any]:
        return await runs.get(thread_id, run_id)

    @app.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
    async def delete_run(thread_id: str, run_id: str) -> Response:
        await runs.delete(thread_id, run_id)
        return Response(status_code=204)

    @app.get("/threads/{thread_id}/runs/{run_id}/join")
    async def join_run(thread_id: str, run_id: str) -> Response:
        return await runs.join(thread_id, run_id)

    @app.get("/threads/{thread_id}/runs/{run_id}/stream")
    async def join_stream(
        thread_id: str,
        run_id: str,
        cancel_on_disconnect: bool = False,
        stream_mode: Annotated[list[str] | None, Query()] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        return await runs.join_stream(
            thread_id,
            run_id,
            cancel_on_disconnect=cancel_on_disconnect,
            modes=stream_filter(stream_mode),
            last_event_id=last_event_id or None,
        )

    @app.post("/threads/{thread_id}/runs/{run_id}/cancel")
    async def cancel_run(
        thread_id: str,
        run_id: str,
        wait: bool = False,
        action: Literal["interrupt", "rollback"] = "interrupt",
    ) -> Response:
        return await runs.cancel(thread_id, run_id, wait=wait, action=action)


class _LocalRuns:
    """The run endpoints of a single-process server: the run manager's runs."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.manager = server.manager

    @staticmethod
    def _base(live: Live, temporary: bool) -> str:
        return run_location(live.record["thread_id"], live.run_id, temporary=temporary)

    async def create(self, thread_id: str | None, body: RunCreate) -> Response:
        live, _ = await self.server.create_run(thread_id, body)
        base = self._base(live, thread_id is None)
        return JSONResponse(live.record, headers={"Content-Location": base})

    async def stream(self, thread_id: str | None, body: RunCreate) -> Response:
        live, token = await self.server.create_run(thread_id, body, follow=True)
        assert token is not None
        base = self._base(live, thread_id is None)
        return self.server.stream_response(
            live,
            token,
            cancel_on_disconnect=body.on_disconnect == "cancel",
            location=f"{base}/stream",
            content_location=base,
        )

    async def wait(self, thread_id: str | None, body: RunCreate) -> Response:
        live, _ = await self.server.create_run(thread_id, body)
        base = self._base(live, thread_id is None)
        try:
            values = await self.server.final_values(live)
        finally:
            if body.on_disconnect == "cancel" and not live.done.is_set():
                with anyio.CancelScope(shield=True):
                    self.manager.cancel(live, "interrupt", "client disconnected")
                    await live.done.wait()
        return JSONResponse(values, headers={"Content-Location": base})

    async def list(
        self, thread_id: str, limit: int, offset: int, status: str | None
    ) -> list[dict[str, Any]]:
        tid = (await self.server.thread(thread_id))["thread_id"]
        runs = [
            r
            for r in self.server.docs.runs.values()
            if r["thread_id"] == tid and (status is None or r["status"] == status)
        ]
        runs.sort(key=lambda r: r["created_at"], reverse=True)
        return runs[offset : offset + limit]

    async def get(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return await self.server.run(thread_id, run_id)

    async def delete(self, thread_id: str, run_id: str) -> None:
        run = await self.server.run(thread_id, run_id)
        if run["status"] not in TERMINAL:
            raise ApiError(409, "Conflict", f"run {run_id} is {run['status']}; cancel it first")
        await self.server.docs.delete("run", run["run_id"])

    async def join(self, thread_id: str, run_id: str) -> Response:
        server = self.server
        run = await server.run(thread_id, run_id)
        live = self.manager.live.get(run["run_id"])
        if live is None:  # finished and forgotten: the thread's state
            thread = await server.thread(thread_id)
            values = None
            graph = server.graph_of_thread(thread)
            if server.checkpointer is not None or is_bridged(graph):
                snapshot = await graph.aget_state(
                    {"configurable": {"thread_id": thread["thread_id"]}}
                )
                values = snapshot.values
            return JSONResponse(values)
        return JSONResponse(await server.final_values(live))

    async def join_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        cancel_on_disconnect: bool,
        modes: frozenset[str] | None,
        last_event_id: str | None,
    ) -> Response:
        run = await self.server.run(thread_id, run_id)
        base = run_location(run["thread_id"], run["run_id"], temporary=False)
        live = self.manager.live.get(run["run_id"])
        after: int | None = None
        if last_event_id:
            if not last_event_id.isdigit():
                raise ApiError(
                    422, "InvalidId", f"Last-Event-ID {last_event_id!r} is not an event id"
                )
            after = int(last_event_id)
        if live is None:
            return finished_stream(base, self.server.settings)
        token = live.subscribe(after)
        return self.server.stream_response(
            live,
            token,
            modes=modes,
            cancel_on_disconnect=cancel_on_disconnect,
            location=f"{base}/stream",
            content_location=base,
        )

    async def cancel(
        self, thread_id: str, run_id: str, *, wait: bool, action: CancelAction
    ) -> Response:
        run = await self.server.run(thread_id, run_id)
        live = self.manager.live.get(run["run_id"])
        if live is None or live.done.is_set():
            raise ApiError(
                409, "Conflict", f"run {run_id} has already ended with status {run['status']}"
            )
        self.manager.cancel(live, action, "cancel endpoint")
        if wait:
            with anyio.CancelScope(shield=True):
                await live.done.wait()
            return Response(status_code=204)
        return Response(status_code=202)


def run_location(thread_id: str, run_id: str, *, temporary: bool) -> str:
    """The path of a run: ``/runs/<id>`` for a stateless run, else under its thread."""
    return f"/runs/{run_id}" if temporary else f"/threads/{thread_id}/runs/{run_id}"


def stream_filter(stream_mode: list[str] | None) -> frozenset[str] | None:
    """The events a join stream sends: those of ``stream_mode`` (None: all)."""
    modes = frozenset(m for m in stream_mode or () if m)  # the SDK sends "" for None
    unknown = modes - set(typing.get_args(StreamModeName))
    if unknown:
        raise ApiError(
            422,
            "InvalidStreamMode",
            f"unknown stream_mode {sorted(unknown)}; use {list(typing.get_args(StreamModeName))}",
        )
    if not modes:
        return None
    return frozenset("messages" if m == "messages-tuple" else m for m in modes) | ALWAYS_SENT


def finished_stream(base: str, settings: ServerSettings) -> EventSourceResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"event: end\ndata: null\n\n"

    return _EventSource(
        body(),
        ping=settings.heartbeat_seconds,
        headers={"Location": f"{base}/stream", "Content-Location": base},
    )
