"""The ``scopegraph`` command: ``scopegraph serve`` and ``scopegraph worker``.

``scopegraph serve`` (and ``scopegraph worker``) with no graph argument serves the
graphs of the ``langgraph.json`` in the current folder, or of ``--config FILE``, as
``langgraph dev`` does (see :func:`read_langgraph_json`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__

__all__ = ("LANGGRAPH_JSON", "LangGraphConfig", "main", "read_env_file", "read_langgraph_json")

LANGGRAPH_JSON = "langgraph.json"
_SUPPORTED_KEYS = ("graphs", "env", "dependencies", "http", "auth", "store", "checkpointer")
_BUILD_KEYS = frozenset(
    {
        "$schema",
        "python_version",
        "api_version",
        "base_image",
        "image_distro",
        "pip_config_file",
        "pip_installer",
        "source",
        "dockerfile_lines",
        "keep_pkg_tools",
        "_INTERNAL_docker_tag",
    }
)
"""Keys of ``langgraph build`` (the Docker image): ``langgraph dev`` ignores them at run
time, and so does ``scopegraph serve``."""
_HTTP_KEYS = ("app", "cors")
_AUTH_KEYS = ("path", "disable_studio_auth")
_CORS_KEYS = frozenset(
    {
        "allow_origins",
        "allow_methods",
        "allow_headers",
        "allow_credentials",
        "allow_origin_regex",
        "expose_headers",
        "max_age",
    }
)
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (when it has one), and keeps the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "%(default)" in help:
            return help
        return help + " (default: %(default)s)"


_TOP_EXAMPLES = """\
examples:
  scopegraph serve app.py:graph        serve one graph on http://127.0.0.1:8000
  scopegraph serve                     serve the graphs of ./langgraph.json
  scopegraph serve --help              every option of the server
"""

_SERVE_EXAMPLES = """\
examples:
  scopegraph serve app.py:graph
      one graph, named after its file ('app'), with a SQLite file for state
  scopegraph serve --graph agent=app.py:graph --graph other=lg_app.py:graph --port 8001
      two graphs under names of your choice (a LangGraph graph is adopted, or bridged)
  scopegraph serve
      the graphs of ./langgraph.json (with its env, dependencies and http.app), as
      'langgraph dev' serves them; --config path/to/langgraph.json for another file
  scopegraph serve app.py:graph --db postgresql://localhost/db \\
      --redis redis://localhost:6379/0 --workers 2
      scale-out mode: an API process and 2 worker processes

The playground is at http://HOST:PORT/ and the API docs at http://HOST:PORT/docs.
"""

_WORKER_EXAMPLES = """\
examples:
  scopegraph worker --graph agent=app.py:graph --db postgresql://localhost/db \\
      --redis redis://localhost:6379/0
      runs the runs that 'scopegraph serve ... --no-worker' processes queue
  SCOPEGRAPH_DB=postgresql://localhost/db SCOPEGRAPH_REDIS=redis://localhost:6379/0 \\
      scopegraph worker app.py:graph
      the same for 'scopegraph serve app.py:graph ...' (the URLs hidden from ps)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scopegraph",
        description="A LangGraph-compatible graph runtime whose cancellation can be trusted.",
        epilog=_TOP_EXAMPLES,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"scopegraph {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    _add_worker(commands)
    return parser


_Commands = argparse._SubParsersAction  # the type add_subparsers() returns


def _add_serve(commands: _Commands[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve graphs over the LangGraph-SDK-compatible HTTP + SSE API",
        description="Serve graphs over the LangGraph server's HTTP + SSE API (the official\n"
        "LangGraph SDKs talk to it), with the playground page at /.",
        epilog=_SERVE_EXAMPLES,
        formatter_class=_Formatter,
    )
    serve.add_argument(
        "specs",
        nargs="*",
        metavar="FILE.py:GRAPH",
        help="a graph to serve, named after its file; with none, and no --graph, the "
        f"graphs of ./{LANGGRAPH_JSON}",
    )
    serve.add_argument(
        "--graph",
        action="append",
        default=[],
        metavar="NAME=FILE.py:GRAPH",
        help="a graph under a name of your choice (repeatable)",
    )
    serve.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help=f"serve the graphs (and env, dependencies, http, auth) of this {LANGGRAPH_JSON} "
        f"instead of ./{LANGGRAPH_JSON}",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on")
    serve.add_argument(
        "--db",
        default=os.environ.get("SCOPEGRAPH_DB") or ".scopegraph/scopegraph.db",
        help="where threads, runs and checkpoints are kept: a SQLite file or a postgresql:// "
        "URL (or set SCOPEGRAPH_DB, which ps does not show)",
    )
    serve.add_argument(
        "--api-key",
        default=None,
        help="require this key in the x-api-key header (ps shows it: prefer "
        "SCOPEGRAPH_API_KEY or --api-key-file)",
    )
    serve.add_argument(
        "--api-key-file",
        default=None,
        metavar="PATH",
        help="require the key this file holds (its first line) in the x-api-key header",
    )
    serve.add_argument(
        "--auth",
        default=None,
        metavar="FILE.py:NAME",
        help="custom auth: a langgraph_sdk Auth object whose handlers authenticate and "
        "authorize requests (what auth.path of a langgraph.json names)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="without an API key, also answer requests for this Host (the bound host, "
        "localhost and loopback addresses always; '*': any); repeatable",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages of this origin call the API from a browser, e.g. "
        "https://smith.langchain.com (CORS is off by default); repeatable",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds running runs get to finish on SIGTERM before they are cancelled",
    )
    serve.add_argument(
        "--shutdown-bound",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="after the grace period, seconds cleanups and final writes get before the "
        "process exits anyway (status 1)",
    )
    serve.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="cancel a run after this many seconds (status timeout); none by default",
    )
    serve.add_argument(
        "--allow-loopback-webhooks",
        action="store_true",
        help="allow a run's webhook to call a loopback URL (localhost, 127.0.0.1): a "
        "receiver on this machine; refused by default",
    )
    serve.add_argument(
        "--cron-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often crons that are due are looked for (default 5)",
    )
    serve.add_argument(
        "--ttl-sweep",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how often threads whose ttl has passed are swept (default 300, or "
        "checkpointer.ttl.sweep_interval_minutes of the langgraph.json)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=_LOG_LEVELS, help="uvicorn's log level"
    )
    serve.add_argument(
        "--redis",
        default=os.environ.get("SCOPEGRAPH_REDIS") or None,
        metavar="URL",
        help="scale-out mode: run events in this Redis (redis://host:port/db; or set "
        "SCOPEGRAPH_REDIS); runs, threads and checkpoints in the PostgreSQL of --db; any "
        "number of processes",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="scale-out mode: start N worker processes with the server (0: the server "
        "process runs queued runs itself)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="scale-out mode: an API-only process; separate 'scopegraph worker' processes "
        "run the runs",
    )
    serve.add_argument(
        "--lease",
        type=float,
        default=10.0,
        help="scale-out mode: seconds a worker holds a run between heartbeats",
    )
    _add_operations(serve)


def _add_operations(parser: argparse.ArgumentParser) -> None:
    """Logs and traces (docs/operations.md), for ``serve`` and ``worker``."""
    parser.add_argument(
        "--log-format",
        default="text",
        choices=("text", "json"),
        help="json: one JSON object per log line, with run_id and thread_id on the lines "
        "of a run and request_id on those of a request",
    )
    parser.add_argument(
        "--otel",
        action="store_true",
        help="export OpenTelemetry spans of runs and nodes with OTLP over HTTP (to "
        "OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318; setting that variable "
        "also turns this on); needs pip install 'scopegraph[otlp]'",
    )


def _add_worker(commands: _Commands[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker",
        help="run queued runs (scale-out: PostgreSQL queue and checkpoints, Redis events)",
        description="Run queued runs in scale-out mode: claims runs from the PostgreSQL\n"
        "queue, stores checkpoints there and sends events to Redis.",
        epilog=_WORKER_EXAMPLES,
        formatter_class=_Formatter,
    )
    worker.add_argument(
        "specs",
        nargs="*",
        metavar="FILE.py:GRAPH",
        help="a graph, named after its file (as 'scopegraph serve FILE.py:GRAPH' names it)",
    )
    worker.add_argument(
        "--graph",
        action="append",
        default=[],
        metavar="NAME=FILE.py:GRAPH",
        help="a graph, under the name the API processes serve it as (repeatable)",
    )
    worker.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help=f"run the graphs of this {LANGGRAPH_JSON} (default, with no graph: "
        f"./{LANGGRAPH_JSON})",
    )
    worker.add_argument(
        "--db",
        default=os.environ.get("SCOPEGRAPH_DB") or None,
        help="a postgresql:// URL (or set SCOPEGRAPH_DB, which ps does not show)",
    )
    worker.add_argument(
        "--redis",
        default=os.environ.get("SCOPEGRAPH_REDIS") or None,
        help="a redis:// URL (or set SCOPEGRAPH_REDIS)",
    )
    worker.add_argument(
        "--worker-id", default=None, help="this worker's name in run records (default: generated)"
    )
    worker.add_argument("--lease", type=float, default=10.0, help="lease seconds")
    worker.add_argument(
        "--max-runs", type=int, default=100, help="runs this worker runs at the same time"
    )
    worker.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds running runs get on SIGTERM before they are cancelled and re-queued",
    )
    worker.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="cancel a run after this many seconds (status timeout); none by default",
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve this worker's Prometheus metrics at http://HOST:PORT/metrics (a worker "
        "has no HTTP API); needs pip install 'scopegraph[metrics]'",
    )
    worker.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address of --metrics-port (default 127.0.0.1)",
    )
    _add_operations(worker)


@dataclass
class LangGraphConfig:
    """What ``scopegraph serve`` takes from a ``langgraph.json``."""

    graphs: dict[str, str]
    """Graph name -> ``path/to/file.py:attr`` (module paths resolved to their file)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables to set (those already set are kept)."""
    paths: list[str] = field(default_factory=list)
    """Folders put on ``sys.path``: the config's folder and its ``dependencies`` folders
    (as ``langgraph dev`` does; nothing is installed)."""
    http_app: str | None = None
    """``http.app``: ``path/to/file.py:attr`` of a Starlette or FastAPI app whose routes
    and middleware are served beside the API's."""
    cors: dict[str, object] | None = None
    """``http.cors``: the keyword arguments of Starlette's ``CORSMiddleware``."""
    store: dict[str, Any] | None = None
    """``store``: the server's store options, ``index`` (``embed`` a ``provider:model``
    string or a ``/abs/path/file.py:attr``, ``dims``, ``fields``) and ``ttl``
    (``refresh_on_read``, ``default_ttl``, ``sweep_interval_minutes``)."""
    thread_ttl: dict[str, Any] | None = None
    """``checkpointer.ttl``: ``strategy``, ``default_ttl``, ``sweep_interval_minutes``,
    ``sweep_limit``."""
    auth: str | None = None
    """``auth.path``: ``path/to/file.py:name`` of a ``langgraph_sdk.Auth`` object whose
    handlers authenticate and authorize the API's requests."""


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a ``.env`` file: ``KEY=value`` lines, ``#`` comments, optional
    ``export`` and quotes."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"env file {str(path)!r}: {exc.strerror or exc}") from None
    variables: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            raise ValueError(
                f"env file {str(path)!r}, line {number}: expected KEY=value, got {raw!r}"
            )
        key, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        variables[key] = value
    return variables


def _graph_path(name: str, spec: object, base: Path, where: str | None = None) -> str:
    where = where or f"{LANGGRAPH_JSON}: graph {name!r}"
    if isinstance(spec, dict):  # {"path": "./file.py:graph"}, LangGraph's long form
        extra = [key for key in spec if key != "path"]
        if extra:
            raise ValueError(
                f"{where}: key {', '.join(map(repr, extra))} not supported yet; keep only "
                '"path" (or give the path as a string)'
            )
        spec = spec.get("path")
    if not isinstance(spec, str):
        raise ValueError(
            f"{where}: expected a string like './agent.py:graph', got {type(spec).__name__}"
        )
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ValueError(
            f"{where}: {spec!r} should be './path/to/file.py:variable' or 'module.path:variable'"
        )
    if target.endswith(".py") or "/" in target or "\\" in target:
        file = (base / target).resolve()
        if not file.is_file():
            raise ValueError(f"{where}: no file {str(base / target)!r}")
        return f"{file}:{attr}"
    if not _MODULE.match(target):
        raise ValueError(
            f"{where}: {target!r} is neither a .py file nor a module path like 'my_agent.graph'"
        )
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"{where}: cannot import {target!r}: {exc}") from None
    if found is None or not found.origin or not found.origin.endswith(".py"):
        raise ValueError(
            f"{where}: no module {target!r} under {str(base)!r} (or on sys.path); "
            "a file path works too: './my_agent/graph.py:graph'"
        )
    return f"{found.origin}:{attr}"


def read_langgraph_json(path: Path) -> LangGraphConfig:
    """Read a LangGraph ``langgraph.json`` as ``langgraph dev`` reads it.

    - ``graphs``: ``"name": "./file.py:attr"`` or ``"module.path:attr"`` (or
      ``{"path": ...}``); module paths are found from the file's folder and the
      ``dependencies`` folders and loaded from their file;
    - ``env``: a ``.env`` file path or a mapping;
    - ``dependencies``: folders (relative to the file) put on ``sys.path``; a package
      name must be installed already (nothing is installed);
    - ``http``: ``app`` (a Starlette or FastAPI app, ``./file.py:app``) and ``cors``
      (``CORSMiddleware``'s arguments);
    - ``store``: ``index`` (semantic search: ``embed``, ``dims``, ``fields``) and ``ttl``
      (``refresh_on_read``, ``default_ttl``, ``sweep_interval_minutes``) of the server's
      store; ``embed`` is a ``provider:model`` (LangChain's ``init_embeddings``), a
      ``./file.py:attr`` or a ``module.path:attr`` (a function, sync or async, or an
      ``Embeddings``);
    - ``checkpointer``: ``ttl`` (``strategy``, ``default_ttl``,
      ``sweep_interval_minutes``, ``sweep_limit``): threads swept after their TTL;
    - ``auth``: ``path`` (a ``langgraph_sdk.Auth`` object, ``./auth.py:auth`` or
      ``module.path:auth``) and ``disable_studio_auth``;
    - the keys of ``langgraph build`` (``python_version``, ``dockerfile_lines``, ...) are
      ignored, as ``langgraph dev`` ignores them.

    Any other key, or a setting this server does not have (``auth.openapi``,
    ``store.path``, ``checkpointer.serde``, ...), raises ``ValueError`` naming it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object like {{"graphs": {{...}}}}')
    unknown = [key for key in data if key not in _SUPPORTED_KEYS and key not in _BUILD_KEYS]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        raise ValueError(
            f"{path}: key {names} not supported by scopegraph serve (it reads "
            f"{', '.join(_SUPPORTED_KEYS)}); remove it, or serve with --graph NAME=FILE.py:GRAPH"
        )
    _refuse_unsupported_settings(path, data)
    graphs = data.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        raise ValueError(
            f'{path}: "graphs" should map names to graphs, e.g. '
            '{"graphs": {"agent": "./agent.py:graph"}}'
        )
    base = path.resolve().parent
    paths = [str(base), *_dependency_paths(path, base, data.get("dependencies", []))]
    for folder in reversed(paths):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    resolved = {str(name): _graph_path(str(name), spec, base) for name, spec in graphs.items()}
    env = data.get("env", {})
    if isinstance(env, str):
        variables = read_env_file(base / env)
    elif isinstance(env, dict):
        bad = [key for key, value in env.items() if not isinstance(value, str)]
        if bad:
            raise ValueError(f'{path}: "env" value of {bad[0]!r} should be a string')
        variables = dict(env)
    else:
        raise ValueError(f'{path}: "env" should be a .env file path or a mapping of strings')
    http = data.get("http") or {}
    app = http.get("app")
    http_app = None
    if app is not None:
        http_app = _graph_path("app", app, base, f"{path}: http.app")
    cors = http.get("cors")
    if cors is not None:
        cors = _cors(path, cors)
    store = _store_config(path, base, data.get("store"))
    thread_ttl = _thread_ttl(path, data.get("checkpointer"))
    auth = _auth_path(path, base, data.get("auth"))
    return LangGraphConfig(resolved, variables, paths, http_app, cors, store, thread_ttl, auth)


def _auth_path(path: Path, base: Path, auth: object) -> str | None:
    """``auth.path`` resolved as a graph's path is. ``auth.disable_studio_auth`` changes
    nothing here: this server never lets LangSmith Studio's users in without the
    handlers (what ``true`` asks for), so both values behave the same."""
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise ValueError(f'{path}: "auth" should be an object like {{"path": "./auth.py:auth"}}')
    other = [f"auth.{key}" for key in auth if key not in _AUTH_KEYS]
    if other:
        raise ValueError(
            f"{path}: {', '.join(other)} not supported by scopegraph serve (it reads "
            f"{', '.join('auth.' + key for key in _AUTH_KEYS)}); remove it"
        )
    if not isinstance(auth.get("disable_studio_auth", False), bool):
        raise ValueError(f"{path}: auth.disable_studio_auth should be true or false")
    if "path" not in auth:
        raise ValueError(f'{path}: "auth" needs a "path", e.g. {{"path": "./auth.py:auth"}}')
    return _graph_path("auth", auth["path"], base, f"{path}: auth.path")


def _refuse_unsupported_settings(path: Path, data: Mapping[str, object]) -> None:
    """Settings of LangGraph's server that this server does not have: each is refused by
    name (never accepted and ignored)."""
    http = data.get("http")
    if http is not None:
        if not isinstance(http, dict):
            raise ValueError(f'{path}: "http" should be an object like {{"app": "./app.py:app"}}')
        other = [f"http.{key}" for key in http if key not in _HTTP_KEYS]
        if other:
            raise ValueError(
                f"{path}: {', '.join(other)} not supported by scopegraph serve (it reads "
                "http.app and http.cors); remove it"
            )


_STORE_KEYS = ("index", "ttl")
_INDEX_KEYS = ("embed", "dims", "fields")
_STORE_TTL_KEYS = ("refresh_on_read", "default_ttl", "sweep_interval_minutes")
_THREAD_TTL_KEYS = ("strategy", "default_ttl", "sweep_interval_minutes", "sweep_limit")
_THREAD_TTL_STRATEGIES = ("delete", "keep_latest")


def _section(path: Path, name: str, value: object, keys: tuple[str, ...]) -> dict[str, Any]:
    """``value`` as an object of ``keys`` only (another key is refused by name)."""
    if not isinstance(value, dict):
        raise ValueError(
            f'{path}: "{name}" should be an object with {", ".join(keys)}, '
            f"got {type(value).__name__}"
        )
    other = [f"{name}.{key}" for key in value if key not in keys]
    if other:
        raise ValueError(
            f"{path}: {', '.join(other)} not supported by scopegraph serve (it reads "
            f"{', '.join(f'{name}.{key}' for key in keys)}); remove it"
        )
    return dict(value)


def _minutes(path: Path, name: str, value: object) -> float | None:
    """A positive number of minutes, or None (LangGraph's "not set")."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{path}: {name} should be a positive number of minutes, got {value!r}")
    return float(value)


def _store_config(path: Path, base: Path, store: object) -> dict[str, Any] | None:
    """``store``: its ``index`` (with ``embed`` resolved to a file, or kept as a
    ``provider:model``) and ``ttl``; ``store.path`` (a custom store) is refused."""
    if store is None or store == {}:
        return None
    if isinstance(store, dict) and "path" in store:
        raise ValueError(
            f"{path}: store.path: a custom store is not supported by scopegraph serve; its "
            "store lives in --db (with store.index and store.ttl); remove store.path"
        )
    config = _section(path, "store", store, _STORE_KEYS)
    out: dict[str, Any] = {}
    if config.get("index") is not None:
        index = _section(path, "store.index", config["index"], _INDEX_KEYS)
        embed = index.get("embed")
        if not isinstance(embed, str) or not embed.strip():
            raise ValueError(
                f'{path}: store.index.embed should be a string: "openai:text-embedding-3-small" '
                '(a LangChain provider:model) or "./embeddings.py:embed" (a function)'
            )
        dims = index.get("dims")
        if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
            raise ValueError(f"{path}: store.index.dims should be a positive integer, got {dims!r}")
        fields = index.get("fields")
        if fields is not None and (
            not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
        ):
            raise ValueError(
                f'{path}: store.index.fields should be a list of paths, e.g. ["text", "$"]'
            )
        out["index"] = {**index, "embed": _embed_spec(path, base, embed.strip())}
    if config.get("ttl") is not None:
        ttl = _section(path, "store.ttl", config["ttl"], _STORE_TTL_KEYS)
        refresh = ttl.get("refresh_on_read")
        if refresh is not None and not isinstance(refresh, bool):
            raise ValueError(
                f"{path}: store.ttl.refresh_on_read should be true or false, got {refresh!r}"
            )
        for key in ("default_ttl", "sweep_interval_minutes"):
            if key in ttl:
                ttl[key] = _minutes(path, f"store.ttl.{key}", ttl[key])
        out["ttl"] = ttl
    return out or None


def _embed_spec(path: Path, base: Path, embed: str) -> str:
    """``store.index.embed``: a file or module function becomes ``/abs/file.py:attr``
    (as a graph's path does); anything else is a LangChain ``provider:model``, loaded
    by ``init_embeddings`` when the server starts (as LangGraph's server does)."""
    target, sep, attr = embed.rpartition(":")
    where = f"{path}: store.index.embed"
    if sep and (target.endswith(".py") or "/" in target or "\\" in target):
        return _graph_path("embed", embed, base, where)
    if sep and "." in target and _MODULE.match(target) and attr.isidentifier():
        return _graph_path("embed", embed, base, where)
    if not sep or not target or not attr:
        raise ValueError(
            f"{where}: {embed!r} should be 'provider:model' (e.g. "
            "'openai:text-embedding-3-small') or './file.py:function'"
        )
    return embed


def _thread_ttl(path: Path, checkpointer: object) -> dict[str, Any] | None:
    """``checkpointer.ttl`` (``checkpointer.backend`` may only be LangGraph's default:
    the checkpoints live in --db)."""
    if checkpointer is None or checkpointer == {}:
        return None
    config = _section(path, "checkpointer", checkpointer, ("ttl", "backend"))
    backend = config.get("backend", "default")
    if backend != "default":
        raise ValueError(
            f"{path}: checkpointer.backend {backend!r} is not supported by scopegraph serve: "
            'its checkpoints live in --db (SQLite or PostgreSQL); remove it or set "default"'
        )
    if config.get("ttl") is None:
        return None
    ttl = _section(path, "checkpointer.ttl", config["ttl"], _THREAD_TTL_KEYS)
    strategy = ttl.setdefault("strategy", "delete")
    if strategy not in _THREAD_TTL_STRATEGIES:
        raise ValueError(
            f"{path}: checkpointer.ttl.strategy {strategy!r} is not supported; use "
            f"{' or '.join(map(repr, _THREAD_TTL_STRATEGIES))}"
        )
    for key in ("default_ttl", "sweep_interval_minutes"):
        if key in ttl:
            ttl[key] = _minutes(path, f"checkpointer.ttl.{key}", ttl[key])
    limit = ttl.get("sweep_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(
            f"{path}: checkpointer.ttl.sweep_limit should be a positive integer, got {limit!r}"
        )
    return ttl


def _dependency_paths(path: Path, base: Path, dependencies: object) -> list[str]:
    """The folders of ``dependencies`` (put on ``sys.path``); a package name must be
    installed already: scopegraph serve installs nothing."""
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ValueError(f'{path}: "dependencies" should be a list of strings, e.g. ["."]')
    folders: list[str] = []
    for dependency in dependencies:
        folder = (base / dependency).resolve()
        if folder.is_dir():
            folders.append(str(folder))
            continue
        if dependency.startswith((".", "/")) or "/" in dependency:
            raise ValueError(f"{path}: dependency {dependency!r}: no folder {str(folder)!r}")
        name = re.split(r"[\[<>=!~;@ ]", dependency, maxsplit=1)[0]
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ValueError(
                f"{path}: dependency {dependency!r} is not installed, and scopegraph serve "
                f"installs nothing: pip install {dependency!r}"
            ) from None
    return folders


def _cors(path: Path, cors: object) -> dict[str, object]:
    if not isinstance(cors, dict):
        raise ValueError(f'{path}: "http.cors" should be an object like {{"allow_origins": [...]}}')
    other = [key for key in cors if key not in _CORS_KEYS]
    if other:
        raise ValueError(
            f"{path}: http.cors.{', http.cors.'.join(other)} not supported; the keys are "
            f"{', '.join(sorted(_CORS_KEYS))}"
        )
    return dict(cors)


def _apply_env(variables: Mapping[str, str]) -> None:
    for key, value in variables.items():
        os.environ.setdefault(key, value)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if argv is None and "PYTHONMALLOC" not in os.environ and sys.platform == "linux":
        # A server's memory should fall back after a burst of runs. Python's own
        # allocator keeps partly used arenas for good; with the C allocator, the memory
        # the run manager hands back (malloc_trim, once no run is running) returns to
        # the system. Set PYTHONMALLOC yourself to choose otherwise.
        env = {**os.environ, "PYTHONMALLOC": "malloc"}
        os.execve(sys.executable, [sys.executable, "-m", "scopegraph._cli", *sys.argv[1:]], env)
    args.config_file = None
    args.http_app = None
    args.cors_config = None
    args.store_config = None
    args.thread_ttl = None
    args.auth_path = None
    try:
        if getattr(args, "auth", None):  # a file or a module path, as auth.path takes
            args.auth_path = _graph_path("auth", args.auth, Path.cwd(), "--auth")
        if args.specs or args.graph:
            if args.config:
                raise ValueError(
                    "pass either graphs (FILE.py:GRAPH, --graph) or --config FILE, not both"
                )
        else:
            config_file = Path(args.config or LANGGRAPH_JSON)
            if not config_file.is_file():
                if args.config:
                    raise ValueError(f"--config {args.config!r}: no such file")
                verb = "serve" if args.command == "serve" else "run"
                raise ValueError(
                    f"no graph to {verb}: scopegraph {args.command} path/to/file.py:graph, "
                    f"or run it in a folder with a {LANGGRAPH_JSON} (or pass --config FILE)"
                )
            config = read_langgraph_json(config_file)
            _apply_env(config.env)
            args.graph = [f"{name}={spec}" for name, spec in config.graphs.items()]
            args.config_file = str(config_file.resolve())
            args.http_app = config.http_app
            args.cors_config = config.cors
            args.store_config = config.store
            args.thread_ttl = config.thread_ttl
            if config.auth is not None:
                if args.auth_path:
                    raise ValueError(
                        f"custom auth is set twice: by --auth and by auth.path of "
                        f"{config_file}; keep one"
                    )
                args.auth_path = config.auth
    except ValueError as exc:
        print(f"scopegraph {args.command}: {exc}", file=sys.stderr)
        return 2
    try:
        from .server._serve import main_serve, main_worker
    except ImportError as exc:
        print(f"scopegraph: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "worker":
            return main_worker(args)
        return main_serve(args)
    except ValueError as exc:
        print(f"scopegraph {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
