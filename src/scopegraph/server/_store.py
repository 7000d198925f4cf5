"""Where the server keeps its threads and runs (the checkpoints live in the checkpointer).

:class:`Documents` holds every thread and run as a JSON document in memory, and writes each
change through to one table, ``scopegraph_server_documents``, in the same database as the
checkpoints: a SQLite file or PostgreSQL. On start it loads what an earlier process wrote,
so threads and finished runs survive a restart. One server process owns the documents;
runs a crashed process left ``pending`` or ``running`` are marked ``error`` on load (their
checkpoints are intact, and ``runs.create`` with ``input=None`` resumes the thread). A
change is written to the database first and kept in memory only once it is stored.

The database calls are synchronous: SQLite's (one WAL row, ``synchronous=NORMAL``) run on
the event loop, as ``SqliteSaver``'s do; PostgreSQL's run in worker threads
(``anyio.to_thread``) on the pooled connections of :class:`scopegraph._postgres.Database`,
which are checked and replaced, so the store recovers after its connections drop (a
server restart, ``pg_terminate_backend``, a network blip). Either way the store works
the same under asyncio and trio. A failed write raises :class:`StoreError`
(:class:`StoreConnectionError` while PostgreSQL cannot be reached, within the pool's
timeout: never a hang), and nothing of it is kept. Stateless runs (``/runs/...``) are
kept in memory only, while they can be joined.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio.to_thread
import orjson

from .. import ScopegraphError
from ._wire import dumps

if TYPE_CHECKING:
    from .._postgres import Op

__all__ = ("Documents", "Kind", "StoreConnectionError", "StoreError", "open_backend")

Kind = Literal["thread", "run"]


class StoreError(ScopegraphError):
    """The server's thread/run store failed to read or write; nothing of the change was
    kept. The message names the database and the reason."""


class StoreConnectionError(StoreError, ConnectionError):
    """The store's PostgreSQL server cannot be reached (down, restarting, unreachable);
    the store reconnects by itself once it is back."""


class _Backend(Protocol):
    inline: bool

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]: ...
    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None: ...
    def delete(self, kind: Kind, doc_id: str) -> None: ...
    def probe(self) -> None: ...
    def close(self) -> None: ...


class _Nothing:
    inline = True

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]:
        return iter(())

    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None:
        pass

    def delete(self, kind: Kind, doc_id: str) -> None:
        pass

    def probe(self) -> None:
        pass

    def close(self) -> None:
        pass


_TABLE = "scopegraph_server_documents"
_CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (kind TEXT NOT NULL, id TEXT NOT NULL, "
    "thread_id TEXT, body {blob} NOT NULL, PRIMARY KEY (kind, id))"
)
_SELECT_ALL = f"SELECT kind, id, body FROM {_TABLE} WHERE kind IN ('thread', 'run')"
_PUT = (
    f"INSERT INTO {_TABLE} (kind, id, thread_id, body) VALUES ({{m}}, {{m}}, {{m}}, {{m}}) "
    "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body"
)
_DELETE = f"DELETE FROM {_TABLE} WHERE kind = {{m}} AND id = {{m}}"
_PROBE = ("probe", "probe", None, b"{}")
"""The row a health check writes (``GET /ok``): a write, because a full disk still reads."""


def _documents(rows: list[Any]) -> Iterator[tuple[Kind, str, dict[str, Any]]]:
    for kind, doc_id, body in rows:
        yield kind, doc_id, orjson.loads(body)


class _Sqlite:
    """One table in a SQLite file, on one connection guarded by a lock."""

    inline = True  # a WAL write of one row: done on the event loop, as SqliteSaver does

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._put = _PUT.format(m="?")
        self._delete = _DELETE.format(m="?")
        with _translate_sqlite(self._path):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute(_CREATE_TABLE.format(blob="BLOB"))
        self._conn = conn

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]:
        with self._lock, _translate_sqlite(self._path):
            rows = self._conn.execute(_SELECT_ALL).fetchall()
        return _documents(rows)

    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None:
        with self._lock, _translate_sqlite(self._path):
            self._conn.execute(self._put, (kind, doc_id, thread_id, body))

    def delete(self, kind: Kind, doc_id: str) -> None:
        with self._lock, _translate_sqlite(self._path):
            self._conn.execute(self._delete, (kind, doc_id))

    def probe(self) -> None:
        with self._lock, _translate_sqlite(self._path):
            self._conn.execute(self._put, _PROBE)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@contextlib.contextmanager
def _translate_sqlite(path: str) -> Iterator[None]:
    """sqlite3's errors (and a directory that cannot be created) become StoreError."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(
            f"the server's SQLite database {path!r} failed: {exc}; check that the disk has "
            "space and that the file and its directory are writable"
        ) from exc


class _Postgres:
    """One table in PostgreSQL, on the pooled connections of ``scopegraph._postgres``."""

    inline = False  # a network round trip: done in a worker thread

    def __init__(self, dsn: str) -> None:
        try:
            from .._postgres import Database, ErrorKinds, Schema
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError(
                "a postgresql:// database needs psycopg: pip install 'scopegraph[postgres]'"
            ) from exc
        schema = Schema(
            what="the PostgreSQL tables of the run server",
            version_table="scopegraph_server_schema_version",
            lock_key=int.from_bytes(b"sg-docs", "big"),
            # Version 1 adopts the table that releases without versions created.
            migrations=((_CREATE_TABLE.format(blob="BYTEA"),),),
            error=StoreError,
        )
        errors = ErrorKinds(
            label="document store",
            prefix="the server's thread/run store: ",
            error=StoreError,
            connection_error=StoreConnectionError,
        )
        self._db = Database(
            dsn,
            schema=schema,
            errors=errors,
            application_name="scopegraph-server",
            pool_name="scopegraph-server-documents",
            pool_size=4,
            # A request waits this long for a connection while PostgreSQL is down, then
            # gets StoreConnectionError (the pool keeps reconnecting meanwhile).
            pool_timeout=5.0,
        )

    def load(self) -> Iterator[tuple[Kind, str, dict[str, Any]]]:
        return _documents(self._db.run(_pg_load))

    def put(self, kind: Kind, doc_id: str, thread_id: str | None, body: bytes) -> None:
        self._db.run(
            functools.partial(_pg_execute, _PUT.format(m="%s"), kind, doc_id, thread_id, body)
        )

    def delete(self, kind: Kind, doc_id: str) -> None:
        self._db.run(functools.partial(_pg_execute, _DELETE_PG, kind, doc_id))

    def probe(self) -> None:
        self._db.run(functools.partial(_pg_execute, _PUT_PG, *_PROBE))

    def close(self) -> None:
        self._db.close()


_PUT_PG = _PUT.format(m="%s")
_DELETE_PG = _DELETE.format(m="%s")


def _pg_load() -> Op[list[Any]]:
    found = yield _SELECT_ALL, None
    return found.rows


def _pg_execute(statement: str, *params: Any) -> Op[None]:
    # Upserts and deletes by key: safe to repeat on a fresh connection.
    yield statement, params


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
        self._unsaved: dict[tuple[Kind, str], dict[str, Any]] = {}
        """Documents kept in memory although their write failed (see :meth:`keep`)."""

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
        """Store ``doc``, then keep it in memory (StoreError: neither happened)."""
        await self._write(kind, doc)
        if self._unsaved:  # the database takes writes again
            with contextlib.suppress(StoreError):
                await self._save_unsaved()

    async def _write(self, kind: Kind, doc: dict[str, Any]) -> None:
        doc_id = doc["thread_id"] if kind == "thread" else doc["run_id"]
        body = dumps(doc)
        if self._backend.inline:
            self._backend.put(kind, doc_id, doc.get("thread_id"), body)
        else:
            await anyio.to_thread.run_sync(
                self._backend.put, kind, doc_id, doc.get("thread_id"), body
            )
        (self.threads if kind == "thread" else self.runs)[doc_id] = doc
        self._unsaved.pop((kind, doc_id), None)

    def keep(self, kind: Kind, doc: dict[str, Any]) -> None:
        """Keep ``doc`` in memory although :meth:`save` failed, and store it once the
        database takes writes again (with the next write or health check). For what has
        already happened and must be shown (a run that ended), not for requests."""
        doc_id = doc["thread_id"] if kind == "thread" else doc["run_id"]
        (self.threads if kind == "thread" else self.runs)[doc_id] = doc
        self._unsaved[(kind, doc_id)] = doc

    async def _save_unsaved(self) -> None:
        for (kind, _), doc in list(self._unsaved.items()):
            await self._write(kind, doc)

    async def check(self) -> None:
        """Write to the database (StoreError if it takes no writes: a full disk, a lost
        server), then store what :meth:`keep` kept."""
        if self._backend.inline:
            self._backend.probe()
        else:
            await anyio.to_thread.run_sync(self._backend.probe)
        await self._save_unsaved()

    async def delete(self, kind: Kind, doc_id: str) -> None:
        """Delete the document from the database, then from memory."""
        if self._backend.inline:
            self._backend.delete(kind, doc_id)
        else:
            await anyio.to_thread.run_sync(self._backend.delete, kind, doc_id)
        (self.threads if kind == "thread" else self.runs).pop(doc_id, None)
        self._unsaved.pop((kind, doc_id), None)

    def close(self) -> None:
        self._backend.close()
