"""Where the server keeps its threads and runs (the checkpoints live in the checkpointer).

:class:`Documents` holds every thread and run as a JSON document in memory, and writes each
change through to one table, ``scopegraph_server_documents``, in the same database as the
checkpoints: a SQLite file or PostgreSQL. On start it loads what an earlier process wrote,
so threads and finished runs survive a restart. One server process owns the documents;
runs a crashed process left ``pending`` or ``running`` are marked ``error`` on load (their
checkpoints are intact, and ``runs.create`` with ``input=None`` resumes the thread).

The database calls are synchronous: SQLite's (one WAL row, ``synchronous=NORMAL``) run on
the event loop, as ``SqliteSaver``'s do; PostgreSQL's run in worker threads
(``anyio.to_thread``). Either way the store works the same under asyncio and trio.
Stateless runs (``/runs/...``) are kept in memory only, while they can be joined.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio.to_thread
import orjson

from ._wire import dumps

__all__ = ("Documents", "Kind", "open_backend")

Kind = Literal["thread", "run"]


class _Backend(Protocol):
    inline: bool

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]: ...
    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None: ...
    def delete(self, kind: Kind, doc_id: str) -> None: ...
    def close(self) -> None: ...


class _Nothing:
    inline = True

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]:
        return iter(())

    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None:
        pass

    def delete(self, kind: Kind, doc_id: str) -> None:
        pass

    def close(self) -> None:
        pass


_TABLE = "scopegraph_server_documents"


class _Sql:
    """One table in a DB-API connection guarded by a lock; subclasses connect, and say
    their parameter marker (``?`` or ``%s``) and binary column type."""

    inline: bool
    _marker: str

    def __init__(self, conn: Any, blob: str) -> None:
        self._lock = threading.Lock()
        self._conn = conn
        m = self._marker
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} (kind TEXT NOT NULL, id TEXT NOT NULL, "
            f"thread_id TEXT, body {blob} NOT NULL, PRIMARY KEY (kind, id))"
        )
        self._put = (
            f"INSERT INTO {_TABLE} (kind, id, thread_id, body) VALUES ({m}, {m}, {m}, {m}) "
            "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body"
        )
        self._delete = f"DELETE FROM {_TABLE} WHERE kind = {m} AND id = {m}"

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]:
        with self._lock:
            rows = self._conn.execute(f"SELECT kind, id, body FROM {_TABLE}").fetchall()
        for kind, doc_id, body in rows:
            yield kind, doc_id, orjson.loads(body)

    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None:
        with self._lock:
            self._conn.execute(self._put, (kind, doc_id, thread_id, body))

    def delete(self, kind: Kind, doc_id: str) -> None:
        with self._lock:
            self._conn.execute(self._delete, (kind, doc_id))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Sqlite(_Sql):
    inline = True  # a WAL write of one row: done on the event loop, as SqliteSaver does
    _marker = "?"

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        super().__init__(conn, "BLOB")


class _Postgres(_Sql):
    inline = False  # a network round trip: done in a worker thread
    _marker = "%s"

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError(
                "a postgresql:// database needs psycopg: pip install 'scopegraph[postgres]'"
            ) from exc
        super().__init__(psycopg.connect(dsn, autocommit=True), "BYTEA")


def open_backend(target: str | None) -> _Backend:
    """``None``: memory only; a ``postgresql://`` URL; otherwise a SQLite file path."""
    if target is None:
        return _Nothing()
    if target.startswith(("postgresql://", "postgres://")):
        return _Postgres(target)
    return _Sqlite(target)


class Documents:
    """Threads and runs, in memory and written through to the database."""

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend
        self.threads: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        for kind, doc_id, doc in self._backend.load():
            (self.threads if kind == "thread" else self.runs)[doc_id] = doc
        for run in self.runs.values():
            if run.get("status") in ("pending", "running"):
                run["status"] = "error"  # its process is gone
        for thread in self.threads.values():
            if thread.get("status") == "busy":
                thread["status"] = "error"

    async def save(self, kind: Kind, doc: dict[str, Any]) -> None:
        doc_id = doc["thread_id"] if kind == "thread" else doc["run_id"]
        (self.threads if kind == "thread" else self.runs)[doc_id] = doc
        body = dumps(doc)
        if self._backend.inline:
            self._backend.put(kind, doc_id, doc.get("thread_id"), body)
        else:
            await anyio.to_thread.run_sync(
                self._backend.put, kind, doc_id, doc.get("thread_id"), body
            )

    async def delete(self, kind: Kind, doc_id: str) -> None:
        (self.threads if kind == "thread" else self.runs).pop(doc_id, None)
        if self._backend.inline:
            self._backend.delete(kind, doc_id)
        else:
            await anyio.to_thread.run_sync(self._backend.delete, kind, doc_id)

    def close(self) -> None:
        self._backend.close()
