"""``scopegraph serve``: load graphs from files, open the database, run uvicorn, and shut
down gracefully on SIGTERM / SIGINT."""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import importlib.util
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from sse_starlette.sse import AppStatus

from .. import CompiledStateGraph, StateGraph
from ..checkpoint import BaseCheckpointSaver
from ._app import create_app, drain
from ._graphs import GraphFactory, served_graph
from ._logs import use_json_logs
from ._metrics import METRICS_MISSING, open_metrics
from ._settings import DefaultThreadTTL, ServerSettings
from ._store import StoreError
from ._tracing import otlp_provider, tracing_wanted

__all__ = (
    "load_auth",
    "load_graph",
    "load_http_app",
    "mount_http_app",
    "open_checkpointer",
    "serve",
)

log = logging.getLogger("scopegraph.server")

DEFAULT_DB = ".scopegraph/scopegraph.db"


def _load_attr(spec: str, what: str) -> Any:
    """The variable named by ``path/to/file.py:attr`` (``what`` names it in errors)."""
    path, sep, attr = spec.rpartition(":")
    if not sep or not path or not attr:
        raise ValueError(f"{what} {spec!r}: expected path/to/file.py:variable, e.g. app.py:graph")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{what} {spec!r}: no file {str(file)!r}")
    package = _package_of(file.resolve())
    module = None
    if package is not None:  # imported as part of its package: relative imports work
        module = _import_in_package(file.resolve(), *package, what=f"{what} {spec!r}")
    if module is None:
        module = _import_file(file, what=f"{what} {spec!r}")
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"{what} {spec!r}: {str(file)!r} defines no {attr!r}") from None


def _import_file(file: Path, *, what: str) -> Any:
    """A file outside any package, imported once under a name of its own (a graph and
    http.app may share it)."""
    name = f"scopegraph_user_graph_{abs(hash(str(file.resolve())))}"
    module = sys.modules.get(name)
    if module is None:
        module_spec = importlib.util.spec_from_file_location(name, file)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"{what}: {str(file)!r} is not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ValueError(
                f"{what}: {str(file)!r} failed to import:\n{_user_frames(exc)}"
            ) from None
    return module


def _package_of(file: Path) -> tuple[Path, str] | None:
    """(the folder holding its top package, its dotted module name) of a file inside a
    package (a folder with an ``__init__.py``, as in LangGraph's template projects:
    ``src/agent/graph.py`` is ``agent.graph`` under ``src``); None for a lone file."""
    parts = [file.stem] if file.name != "__init__.py" else []
    folder = file.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if file.name == "__init__.py" and not parts:
        return None
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        return None
    return folder, ".".join(parts)


def _import_in_package(file: Path, root: Path, dotted: str, *, what: str) -> Any:
    """``file`` imported as the module ``dotted`` of its package, ``root`` on sys.path,
    so that its relative imports (``from .tools import x``) work as in LangGraph's
    server (where the project is pip-installed); None when that name is another module
    (a package of the same name found first): the file is then imported on its own."""
    found = _find_spec(dotted)
    if found is None and str(root) not in sys.path:
        sys.path.append(str(root))  # appended: the project shadows no installed module
        importlib.invalidate_caches()
        found = _find_spec(dotted)
    if found is not None and (found.origin is None or Path(found.origin).resolve() != file):
        log.info("%s: %s is another module than %s: imported on its own", what, dotted, file)
        return None
    try:
        return importlib.import_module(dotted)
    except Exception as exc:
        raise ValueError(f"{what}: {str(file)!r} failed to import:\n{_user_frames(exc)}") from None


def _find_spec(dotted: str) -> Any:
    """The spec of ``dotted``, or None (its package failing to import included: the
    import that follows reports that failure with the user's frames)."""
    try:
        return importlib.util.find_spec(dotted)
    except Exception:
        return None


def load_graph(spec: str, name: str | None = None) -> Any:
    """The graph named by ``path/to/file.py:attr`` (a StateGraph is compiled); a function
    (any callable that is not a graph) is a graph factory, made per run
    (:class:`~scopegraph.server._graphs.GraphFactory`; ``name`` names it in errors)."""
    graph = _load_attr(spec, "graph")
    if isinstance(graph, StateGraph):
        graph = graph.compile()
    if isinstance(graph, CompiledStateGraph):
        return graph
    if type(graph).__module__.startswith("langgraph."):  # LangGraph's: create_app adopts
        if hasattr(graph, "compile") and not hasattr(graph, "astream"):  # or bridges it
            graph = graph.compile()
        return graph
    if callable(graph):
        return GraphFactory(name or spec, graph)
    raise ValueError(
        f"graph {spec!r} is a {type(graph).__name__}; expected a StateGraph, a compiled "
        "graph (scopegraph's or LangGraph's) or a function making one (a graph factory)"
    )


def load_auth(spec: str) -> Any:
    """The custom auth of ``path/to/file.py:name`` (a ``langgraph_sdk.Auth`` object, as
    ``auth.path`` of a ``langgraph.json`` names it), ready for ``create_app``."""
    from ._auth import CustomAuth

    return CustomAuth(_load_attr(spec, "auth"), where=f"auth {spec!r}")


def load_http_app(spec: str) -> Any:
    """The Starlette (or FastAPI) app of a ``langgraph.json``'s ``http.app``."""
    from starlette.applications import Starlette

    app = _load_attr(spec, "http.app")
    if not isinstance(app, Starlette):
        raise ValueError(
            f"http.app {spec!r} is a {type(app).__name__}; expected a Starlette or FastAPI "
            "app, e.g. app = FastAPI()"
        )
    return app


def mount_http_app(app: Any, user_app: Any) -> None:
    """Serve ``user_app``'s routes and middleware beside the API's, as LangGraph's server
    does with ``http.app``: its routes come first (a route of the same path shadows the
    API's), its middleware wraps every route (the API's too), its lifespan runs inside
    the server's, and its exception handlers are added (FastAPI's own defaults are not:
    the API keeps its error bodies). A FastAPI app's own ``/docs`` and ``/openapi.json``
    are left out: the server's document the app's routes along with its own."""
    skipped: set[str] = set()
    for name in ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url"):
        url = getattr(user_app, name, None)
        if url:
            skipped.add(url)
    routes = [r for r in user_app.router.routes if getattr(r, "path", None) not in skipped]
    app.router.routes[:0] = routes
    app.user_middleware[:0] = list(user_app.user_middleware)
    for kind, handler in user_app.exception_handlers.items():
        if getattr(handler, "__module__", "") != "fastapi.exception_handlers":
            app.add_exception_handler(kind, handler)
    ours, theirs = app.router.lifespan_context, user_app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(server: Any) -> Any:
        async with ours(server) as state, theirs(user_app) as user_state:
            merged = {**(state or {}), **(user_state or {})}
            yield merged or None

    app.router.lifespan_context = lifespan
    app.openapi_schema = None  # generated again, with the app's routes


def _user_frames(exc: BaseException) -> str:
    """The traceback of an exception raised while importing a user's file, without the
    frames of scopegraph and of Python's import machinery."""
    ours = str(Path(__file__).resolve().parents[1])
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(("<frozen ", ours))
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(exc)
    return "".join(lines).rstrip()


def load_store_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The store options of a ``langgraph.json``'s ``store`` (as ``scopegraph._cli``
    checked them), ready for :func:`create_app`: ``index.embed`` given as
    ``/abs/file.py:attr`` is loaded (a function, sync or async, or an ``Embeddings``); a
    ``provider:model`` string is left to the store, which loads it with LangChain's
    ``init_embeddings`` (a ValueError naming the missing package)."""
    if not config:
        return None
    options = {key: dict(value) for key, value in config.items()}
    index = options.get("index")
    if index is not None:
        embed = index["embed"]
        target = embed.rpartition(":")[0]
        if target.endswith(".py") and Path(target).is_file():
            loaded = _load_attr(embed, "store.index.embed")
            if not callable(loaded) and not callable(getattr(loaded, "embed_documents", None)):
                raise ValueError(
                    f"store.index.embed {embed!r} is a {type(loaded).__name__}; expected a "
                    "function that takes a list of texts and returns a list of vectors "
                    "(sync or async), or a LangChain Embeddings"
                )
            index["embed"] = loaded
    return options


def thread_ttl_settings(
    ttl_sweep: float | None, thread_ttl: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The :class:`ServerSettings` fields of threads' TTL: ``--ttl-sweep`` and a
    ``langgraph.json``'s ``checkpointer.ttl`` (both setting the sweep is refused)."""
    ttl = dict(thread_ttl or {})
    interval = ttl.get("sweep_interval_minutes")
    if ttl_sweep is not None and interval is not None:
        raise ValueError(
            "the TTL sweep interval is set twice: by --ttl-sweep and by "
            "checkpointer.ttl.sweep_interval_minutes of the langgraph.json; keep one"
        )
    fields: dict[str, Any] = {}
    if ttl_sweep is not None:
        fields["ttl_sweep_seconds"] = ttl_sweep
    elif interval is not None:
        fields["ttl_sweep_seconds"] = interval * 60
    if ttl.get("sweep_limit") is not None:
        fields["ttl_sweep_limit"] = ttl["sweep_limit"]
    if ttl.get("default_ttl") is not None:
        fields["thread_ttl"] = DefaultThreadTTL(ttl=ttl["default_ttl"], strategy=ttl["strategy"])
    return fields


def check_db(db: str) -> None:
    """A ValueError naming the problem if ``--db`` cannot be used: an unreachable or
    refusing PostgreSQL, a directory, a file that is not SQLite, a path that cannot be
    created or written."""
    if db.startswith(("postgresql://", "postgres://")):
        _check_postgres(db)
        return
    path = Path(db)
    if path.is_dir():
        raise ValueError(f"--db {db!r} is a directory; give a file, e.g. {str(path / 'sg.db')!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"--db {db!r}: cannot create its folder {str(path.parent)!r}: {exc.strerror or exc}"
        ) from None
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ValueError(f"--db {db!r} is not writable; give a path this user can write")
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        raise ValueError(
            f"--db {db!r} is not a SQLite database this server can open ({exc}); give another path"
        ) from None


def _check_postgres(db: str) -> None:
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise ValueError(
            "a postgresql:// --db needs psycopg: pip install 'scopegraph[postgres]'"
        ) from None
    try:
        params = conninfo_to_dict(db)
    except psycopg.Error as exc:
        raise ValueError(f"--db: not a valid PostgreSQL URL ({exc})") from None
    where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    where += f", database {params.get('dbname', '?')!r}"
    try:
        with psycopg.connect(db, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"--db: cannot connect to PostgreSQL at {where}: {reason}; is it running, and "
            "are the user, password and database right?"
        ) from None


def check_port(host: str, port: int) -> None:
    """A ValueError naming the port if something already listens on it."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ValueError(
                    f"port {port} on {host} is already in use (another server?); choose "
                    f"another one with --port, e.g. --port {port + 1}"
                ) from None
            raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def open_checkpointer(db: str) -> BaseCheckpointSaver:
    if db.startswith(("postgresql://", "postgres://")):
        from ..checkpoint import PostgresSaver

        return PostgresSaver(db)
    from ..checkpoint import SqliteSaver

    Path(db).parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(db)


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: :func:`serve` handles them, so that runs
    end (cleanups done, checkpoints saved, final events sent) before uvicorn stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers and self.servers[0].sockets:
            # The address actually bound (--port 0 included), as a link a person can click.
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
            url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
            print(f"Playground: {url}/\nAPI docs:   {url}/docs", flush=True)


def serve(
    graphs: Mapping[str, Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    db: str = DEFAULT_DB,
    settings: ServerSettings | None = None,
    log_level: str = "info",
    redis: str | None = None,
    worker: bool = True,
    lease_seconds: float = 10.0,
    worker_processes: Sequence[Sequence[str]] = (),
    worker_env: Mapping[str, str] | None = None,
    tracer_provider: Any = None,
    log_config: dict[str, Any] | None = None,
    http_app: Any | None = None,
    store_config: Mapping[str, Any] | None = None,
    auth: Any = None,
) -> int:
    """Serve ``graphs`` until SIGTERM or SIGINT; returns the exit status (0).

    ``redis``: scale-out mode (``db`` must be PostgreSQL): this process serves the API,
    and runs queued runs too unless ``worker`` is False. ``worker_processes``: commands
    of worker processes started with the server and stopped (SIGTERM) after it drained,
    with ``worker_env`` added to their environment (where the URLs go: ``ps`` shows
    command lines). ``http_app``: a Starlette app served beside the API
    (:func:`mount_http_app`). ``auth``: custom auth (``create_app``'s).
    ``tracer_provider``: spans of runs and nodes (shut down,
    so flushed, at exit); ``log_config``: uvicorn's logging configuration (None:
    uvicorn's own). ``store_config``: the store's ``index`` and ``ttl``
    (:func:`load_store_config`). A ValueError names what cannot be used (the port, the
    database, the embeddings).
    """
    settings = settings or ServerSettings()
    if redis is not None and not db.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"--redis needs --db postgresql://...; got --db {db!r}")
    check_port(host, port)
    check_db(db)
    checkpointer = open_checkpointer(db)
    try:
        app = create_app(
            graphs,
            checkpointer,
            database=db,
            settings=settings,
            redis=redis,
            worker=worker,
            lease_seconds=lease_seconds,
            tracer_provider=tracer_provider,
            store_config=store_config,
            auth=auth,
        )
    except StoreError as exc:
        raise ValueError(f"--db: {exc}") from None
    for name, served in app.state.served.items():
        if served.engine != "scopegraph":  # built with LangGraph: adopted or bridged, and why
            print(served.describe(name), flush=True)
    if http_app is not None:
        mount_http_app(app, http_app)
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        log_config=uvicorn.config.LOGGING_CONFIG if log_config is None else log_config,
    )
    if redis is None:
        then = "then they are cancelled"
    elif worker and not worker_processes:
        then = "then they go back to the queue; open streams end"
    else:
        then = "open streams end (their runs go on)"
    serving = _Serving(app, _Uvicorn(config), checkpointer, settings, then)
    # A server allocates many short-lived objects per event; the objects alive at start
    # (modules, graphs) need never be scanned again, and young collections can be rarer.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    env = {**os.environ, **(worker_env or {})}
    serving.children.extend(
        subprocess.Popen(list(command), env=env) for command in worker_processes
    )
    try:
        anyio.run(serving.main)
    finally:
        if tracer_provider is not None:
            tracer_provider.shutdown()  # exports the spans still buffered
    return 0


class _Serving:
    """One ``scopegraph serve`` process: uvicorn, the signal handling that drains the
    runs before uvicorn stops, and the worker processes started with it."""

    def __init__(
        self,
        app: Any,
        server: _Uvicorn,
        checkpointer: BaseCheckpointSaver,
        settings: ServerSettings,
        then: str,
    ) -> None:
        self.app = app
        self.server = server
        self.checkpointer = checkpointer
        self.settings = settings
        self.then = then
        self.children: list[subprocess.Popen[bytes]] = []

    async def main(self) -> None:
        try:
            await self._serve_api()
        finally:
            with anyio.CancelScope(shield=True):
                await self._stop_children()

    async def _stop_children(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            status = await anyio.to_thread.run_sync(child.wait)
            if status:
                log.warning("worker process %d exited with status %d", child.pid, status)

    async def _uvicorn(self, stopped: anyio.Event) -> None:
        try:
            await self.server.serve()
        finally:
            stopped.set()

    async def _serve_api(self) -> None:
        stopped = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._uvicorn, stopped)
            # The receiver stays open until the process ends: a second signal cuts the
            # grace period short (runs are cancelled now, their cleanup still completes).
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.warning(
                        "%s: no new runs; %.1f s for running ones, %s",
                        signal.Signals(signum).name,
                        self.settings.shutdown_grace_seconds,
                        self.then,
                    )
                    _exit_after(
                        self.settings.shutdown_grace_seconds + self.settings.shutdown_bound_seconds
                    )
                    break
                await self._drain_then_stop(signals, stopped)
        await self.checkpointer.aclose()

    async def _drain_then_stop(self, signals: Any, stopped: anyio.Event) -> None:
        async def hurry() -> None:
            async for signum in signals:
                log.warning("%s again: cancelling runs now", signal.Signals(signum).name)
                self.app.state.backend.hurry()

        async with anyio.create_task_group() as watcher:
            watcher.start_soon(hurry)
            await drain(self.app)
            log.warning("every run has ended and its cleanup finished; stopping")
            self.server.should_exit = True
            await stopped.wait()
            watcher.cancel_scope.cancel()


def _exit_after(seconds: float) -> None:
    """The bound on shutdown: if the process is still there ``seconds`` after the first
    signal (a cleanup that never ends, a wedged store), it exits with status 1. A thread,
    so that it fires even if the event loop is blocked."""

    def give_up() -> None:
        log.critical(
            "shutdown did not complete within %.1f s (grace period plus bound); exiting now",
            seconds,
        )
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()


def graph_specs(specs: Sequence[str], items: Sequence[str]) -> dict[str, str]:
    """``{name: FILE.py:GRAPH}`` from positional specs (named after their file) and
    ``--graph NAME=FILE.py:GRAPH`` items; a name given twice is a ValueError."""
    found: dict[str, str] = {}
    given: dict[str, str] = {}
    named = [(Path(spec.rpartition(":")[0]).stem, spec, spec) for spec in specs]
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--graph {item!r}: expected name=path/to/file.py:variable")
        named.append((name, spec, f"--graph {item}"))
    for name, spec, how in named:
        if name in found:
            raise ValueError(
                f"graph name {name!r} is given twice ({given[name]} and {how}); give each "
                "graph its own name with --graph NAME=FILE.py:GRAPH"
            )
        found[name], given[name] = spec, how
    return found


def api_key(args: Any) -> str | None:
    """The API key: ``--api-key``, the first line of ``--api-key-file``, or the
    ``SCOPEGRAPH_API_KEY`` environment variable (the last two are not shown by ``ps``)."""
    if args.api_key and args.api_key_file:
        raise ValueError("pass either --api-key or --api-key-file, not both")
    if args.api_key_file:
        try:
            lines = Path(args.api_key_file).read_text(encoding="utf-8").strip().splitlines()
        except OSError as exc:
            raise ValueError(f"--api-key-file {args.api_key_file!r}: {exc.strerror}") from None
        if not lines or not lines[0].strip():
            raise ValueError(f"--api-key-file {args.api_key_file!r} is empty")
        return lines[0].strip()
    return args.api_key or os.environ.get("SCOPEGRAPH_API_KEY") or None


def allowed_hosts(host: str, extra: Sequence[str]) -> tuple[str, ...]:
    """The ``Host`` names a server bound to ``host`` answers without an API key."""
    names = [host, "localhost", "127.0.0.1", "[::1]", *extra]
    if ":" in host and not host.startswith("["):
        names.append(f"[{host}]")
    return tuple(dict.fromkeys(name.lower() for name in names))


def main_serve(args: Any) -> int:
    specs = graph_specs(args.specs, args.graph)
    log_config = use_json_logs(args.log_level) if args.log_format == "json" else None
    provider = otlp_provider("scopegraph") if tracing_wanted(args.otel) else None
    graphs = {name: load_graph(spec, name) for name, spec in specs.items()}
    if not graphs:
        raise ValueError("no graph to serve: scopegraph serve path/to/file.py:graph")
    cors = getattr(args, "cors_config", None)
    if cors is not None and args.cors_origin:
        raise ValueError(
            "CORS is set twice: by --cors-origin and by http.cors of the langgraph.json; keep one"
        )
    http_spec = getattr(args, "http_app", None)
    http_app = load_http_app(http_spec) if http_spec else None
    auth_spec = getattr(args, "auth_path", None)
    auth = None
    if auth_spec:
        auth = load_auth(auth_spec)
    settings = ServerSettings(
        api_key=api_key(args),
        allowed_hosts=allowed_hosts(args.host, args.allow_host),
        cors_origins=tuple(args.cors_origin),
        cors=cors,
        shutdown_grace_seconds=args.grace,
        shutdown_bound_seconds=args.shutdown_bound,
        run_timeout_seconds=args.run_timeout,
        cron_interval_seconds=args.cron_interval,
        webhook_loopback=args.allow_loopback_webhooks,
        log_format=args.log_format,
        **thread_ttl_settings(args.ttl_sweep, getattr(args, "thread_ttl", None)),
    )
    store_config = load_store_config(getattr(args, "store_config", None))
    workers: list[list[str]] = []
    if args.redis is None and (args.workers or args.no_worker):
        raise ValueError("--workers and --no-worker are for scale-out mode: add --redis URL")
    if args.workers and args.no_worker:
        raise ValueError("pass either --workers N (worker processes) or --no-worker, not both")
    for i in range(args.workers or 0):
        # the database and Redis URLs go through the environment (ps shows command lines)
        command = [sys.executable, "-m", "scopegraph._cli", "worker"]
        command += ["--lease", str(args.lease), "--grace", str(args.grace)]
        command += ["--worker-id", f"{args.host}:{args.port}/{i + 1}-{os.getpid()}"]
        if args.run_timeout:
            command += ["--run-timeout", str(args.run_timeout)]
        command += ["--log-format", args.log_format] + (["--otel"] if args.otel else [])
        config_file = getattr(args, "config_file", None)
        if config_file:  # the workers read it too (its dependencies, its env)
            command += ["--config", config_file]
        else:
            for name, spec in specs.items():
                command += ["--graph", f"{name}={spec}"]
        workers.append(command)
    return serve(
        graphs,
        host=args.host,
        port=args.port,
        db=args.db,
        settings=settings,
        log_level=args.log_level,
        redis=args.redis,
        worker=not args.no_worker and not args.workers,
        lease_seconds=args.lease,
        worker_processes=workers,
        worker_env={"SCOPEGRAPH_DB": args.db, "SCOPEGRAPH_REDIS": args.redis or ""},
        tracer_provider=provider,
        log_config=log_config,
        http_app=http_app,
        store_config=store_config,
        auth=auth,
    )


def main_worker(args: Any) -> int:
    """``scopegraph worker``: see :func:`scopegraph.server._worker.serve_worker`."""
    from .cluster._worker import serve_worker

    specs = graph_specs(args.specs, args.graph)
    if not specs:
        raise ValueError("no graph to run: scopegraph worker path/to/file.py:graph --db ...")
    if not args.db or not args.redis:
        missing = "--db postgresql://..." if not args.db else "--redis redis://..."
        raise ValueError(f"a worker needs {missing} (or SCOPEGRAPH_DB / SCOPEGRAPH_REDIS)")
    if not args.db.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"--db {args.db!r}: a worker needs a postgresql:// URL")
    check_db(args.db)
    if args.log_format == "json":
        use_json_logs()
    metrics_address = None
    if args.metrics_port is not None:
        if open_metrics() is None:
            raise ValueError(f"--metrics-port: {METRICS_MISSING}")
        check_port(args.metrics_host, args.metrics_port)
        metrics_address = (args.metrics_host, args.metrics_port)
    provider = otlp_provider("scopegraph-worker") if tracing_wanted(args.otel) else None
    store_config = load_store_config(getattr(args, "store_config", None))
    graphs = {}
    for name, spec in specs.items():
        served = served_graph(name, load_graph(spec, name))
        if served.engine == "bridged":
            raise ValueError(
                f"{served.describe(name)}; a worker runs graphs on scopegraph's engine only"
            )
        if served.engine == "adopted":
            print(served.describe(name), flush=True)
        if isinstance(served.graph, GraphFactory):
            served.graph.bridge = False  # a graph it makes runs on scopegraph's engine
        graphs[name] = served.graph
    # SCOPEGRAPH_BACKEND=trio runs the worker on trio (the tests run workers on both).
    backend = os.environ.get("SCOPEGRAPH_BACKEND", "asyncio")
    if backend not in ("asyncio", "trio"):
        raise ValueError(f"SCOPEGRAPH_BACKEND={backend!r}: use asyncio or trio")
    try:
        anyio.run(
            functools.partial(
                serve_worker,
                graphs,
                db=args.db,
                redis=args.redis,
                worker_id=args.worker_id,
                lease_seconds=args.lease,
                max_runs=args.max_runs,
                grace=args.grace,
                run_timeout=args.run_timeout,
                tracer_provider=provider,
                metrics_address=metrics_address,
                store_config=store_config,
            ),
            backend=backend,
        )
    finally:
        if provider is not None:
            provider.shutdown()  # exports the spans still buffered
    return 0
