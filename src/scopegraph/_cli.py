"""The ``scopegraph`` command."""

from __future__ import annotations

import argparse
import os
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scopegraph")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    _add_worker(commands)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="serve graphs over the LangGraph-SDK-compatible HTTP + SSE API"
    )
    serve.add_argument("specs", nargs="*", metavar="FILE.py:GRAPH", help="a graph to serve")
    serve.add_argument(
        "--graph",
        action="append",
        default=[],
        metavar="NAME=FILE.py:GRAPH",
        help="a graph under a name of your choice (repeatable)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--db",
        default=".scopegraph/scopegraph.db",
        help="a SQLite file (default .scopegraph/scopegraph.db) or a postgresql:// URL",
    )
    serve.add_argument("--api-key", default=None, help="require this key in x-api-key")
    serve.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds running runs get to finish on SIGTERM before they are cancelled",
    )
    serve.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        help="seconds after which a run is cancelled and ends with status timeout",
    )
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--redis",
        default=None,
        metavar="URL",
        help="scale-out mode: run events in this Redis (redis://host:port/db); runs, "
        "threads and checkpoints in the PostgreSQL of --db; any number of processes",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="scale-out mode: start N worker processes with the server (default: the "
        "server process runs queued runs itself)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="scale-out mode: an API-only process; separate 'scopegraph worker' processes "
        "run the runs",
    )
    serve.add_argument("--lease", type=float, default=10.0, help="scale-out: lease seconds")


def _add_worker(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser(
        "worker",
        help="run queued runs (scale-out: PostgreSQL queue and checkpoints, Redis events)",
    )
    worker.add_argument(
        "--graph", action="append", default=[], metavar="NAME=FILE.py:GRAPH", required=True
    )
    worker.add_argument("--db", required=True, help="a postgresql:// URL")
    worker.add_argument("--redis", required=True, help="a redis:// URL")
    worker.add_argument("--worker-id", default=None)
    worker.add_argument("--lease", type=float, default=10.0, help="lease seconds")
    worker.add_argument("--max-runs", type=int, default=100)
    worker.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds running runs get on SIGTERM before they are cancelled and re-queued",
    )
    worker.add_argument("--run-timeout", type=float, default=None)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if argv is None and "PYTHONMALLOC" not in os.environ and sys.platform == "linux":
        # A server's memory should fall back after a burst of runs. Python's own
        # allocator keeps partly used arenas for good; with the C allocator, the memory
        # the run manager hands back (malloc_trim, once no run is running) returns to
        # the system. Set PYTHONMALLOC yourself to choose otherwise.
        env = {**os.environ, "PYTHONMALLOC": "malloc"}
        os.execve(sys.executable, [sys.executable, "-m", "scopegraph._cli", *sys.argv[1:]], env)
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
