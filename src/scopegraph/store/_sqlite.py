"""``SqliteStore``: the store in a SQLite file, on the standard library's sqlite3.

One connection (``check_same_thread=False``) under a ``threading.Lock``, as
``SqliteSaver``: the async methods run their statements directly on the event loop (a
batch is a few short statements; WAL mode, no ``fsync`` per commit), so a batch that has
begun is never cut in half by a cancellation. Embedding calls (which may take long) are
made before, outside the lock: an async ``embed`` is awaited, a sync one runs in a worker
thread. Pass ``async_in_thread=True`` when other processes write to the same file, so the
event loop does not block on their lock.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio.lowlevel
import anyio.to_thread

from ._match import COMBINATORS
from ._sql import ITEMS, VECTORS, AsyncNames, Rows, SqlOp, SqlStore, StoreError
from ._sweeper import TTLSweeping
from ._types import Op, SearchOp, TTLConfig

__all__ = ("AsyncSqliteStore", "SqliteStore")

_SCHEMA_VERSION = 1
_SCHEMA = (
    f"""
    CREATE TABLE IF NOT EXISTS {ITEMS} (
        prefix TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL,
        ttl_minutes REAL,
        PRIMARY KEY (prefix, key)
    )
    """,
    f"CREATE INDEX IF NOT EXISTS {ITEMS}_expires ON {ITEMS} (expires_at)"
    " WHERE expires_at IS NOT NULL",
    f"""
    CREATE TABLE IF NOT EXISTS {VECTORS} (
        prefix TEXT NOT NULL,
        key TEXT NOT NULL,
        field TEXT NOT NULL,
        embedding TEXT NOT NULL,
        PRIMARY KEY (prefix, key, field),
        FOREIGN KEY (prefix, key) REFERENCES {ITEMS} (prefix, key) ON DELETE CASCADE
    )
    """,
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_FILTER_KEY = re.compile(r"[a-zA-Z0-9_.-]+")


def _check_keys(filter: dict[str, Any]) -> None:
    """LangGraph's ``SqliteStore`` check of a filter's keys (those of the filters under
    ``$or`` and ``$and`` too, scopegraph's: :mod:`scopegraph.store._match`)."""
    for key, value in filter.items():
        if key in COMBINATORS and isinstance(value, list):
            for each in value:
                _check_keys(each)
        elif not _FILTER_KEY.fullmatch(str(key)):
            raise ValueError(
                f"Invalid filter key: '{key}'. Filter keys must contain only "
                "alphanumeric characters, underscores, dots, and hyphens."
            )


"""The filter keys LangGraph's ``SqliteStore`` takes."""


def _sqlite_statement(statement: str) -> str:
    return _PLACEHOLDER.sub(r":\1", statement)


def _drive(conn: sqlite3.Connection, op: SqlOp) -> Any:
    """Run an operation's statements on ``conn``; its return value."""
    try:
        statement, params = next(op)
        while True:
            cursor = conn.execute(_sqlite_statement(statement), params)
            rows = cursor.fetchall()
            statement, params = op.send(Rows(rows, cursor.rowcount))
    except StopIteration as done:
        return done.value
    finally:
        op.close()


class SqliteStore(SqlStore):
    """A store in a SQLite file (or ``":memory:"``), with the standard library only.

    Args:
        conn: a path (the file is created; its directory must exist), ``":memory:"``,
            a ``file:`` URI, or an open ``sqlite3.Connection`` (LangGraph's way; the
            store then uses it as it is and does not close it).
        index: semantic search: ``{"dims": 64, "embed": embeddings, "fields": ["text"]}``.
        ttl: item expiry: ``{"default_ttl": 60, "sweep_interval_minutes": 5}`` (minutes).
        busy_timeout: seconds to wait for another process's write lock.
        async_in_thread: run the async methods' statements in a worker thread.

    The tables are created on first use (or by :meth:`setup`). Use it as a context
    manager to close it::

        with SqliteStore("memory.db") as store:
            graph = builder.compile(store=store)
    """

    _label = "SqliteStore"

    def __init__(
        self,
        conn: str | os.PathLike[str] | sqlite3.Connection = ":memory:",
        *,
        index: Any = None,
        ttl: TTLConfig | None = None,
        busy_timeout: float = 5.0,
        async_in_thread: bool = False,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self._lock = threading.Lock()
        self._busy_timeout = busy_timeout
        self._async_in_thread = async_in_thread
        self._owns_conn = not isinstance(conn, sqlite3.Connection)
        self._path = "<connection>" if isinstance(conn, sqlite3.Connection) else os.fspath(conn)
        self._conn: sqlite3.Connection | None = None if self._owns_conn else conn  # type: ignore[assignment]
        self._ready = False
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteStore({self._path!r})"

    def _refreshing(self, refresh_ttl: bool) -> bool:
        """As LangGraph's ``SqliteStore``: a read refreshes its items' TTL only when the
        store's TTL config sets ``refresh_on_read`` (and the call does not say
        ``refresh_ttl=False``); without it, expiry counts from the last write."""
        return refresh_ttl and bool((self.ttl_config or {}).get("refresh_on_read", False))

    def _check(self, ops: list[Op]) -> None:
        """As LangGraph's ``SqliteStore``: a search's filter keys may hold only letters,
        digits, ``_``, ``.`` and ``-`` (a ValueError naming the key; the filter never
        reaches SQL here, but a program moved from LangGraph gets the same answer)."""
        for op in ops:
            if isinstance(op, SearchOp) and op.filter:
                _check_keys(op.filter)

    def setup(self) -> None:
        """Create the tables now (otherwise done on first use)."""
        with self._lock:
            self._connection()

    async def asetup(self) -> None:
        SqliteStore.setup(self)

    def close(self) -> None:
        """Close the connection the store opened (idempotent); stop a sweeper thread."""
        TTLSweeping.stop_ttl_sweeper(self)
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None and self._owns_conn:
                conn.close()

    async def aclose(self) -> None:
        self.close()

    # -- running operations ---------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The connection, opened and set up on first use. Lock held."""
        if self._closed:
            raise StoreError(f"{self!r} is closed; create a new store to use the database")
        conn = self._conn
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self._path,
                    timeout=self._busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                    uri=self._path.startswith("file:"),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the store database {self._path!r}: {exc}") from exc
            self._conn = conn
        if not self._ready:
            try:
                if self._owns_conn and self._path != ":memory:":
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                with self._transaction(conn):
                    for statement in _SCHEMA:
                        conn.execute(statement)
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            self._ready = True
        return conn

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        if conn.in_transaction:  # a connection the caller handed us, mid-transaction
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _number_test(self, key_param: str, operator: str, value_param: str) -> str:
        path = f"'$.\"' || %({key_param})s || '\"'"
        return (
            f"(json_type(value, {path}) NOT IN ('integer', 'real')"
            f" OR json_extract(value, {path}) {operator} %({value_param})s)"
        )

    def _json_text(self, key_param: str) -> str:
        return f"json_extract(value, '$.\"' || %({key_param})s || '\"')"

    def _run(self, make_op: Callable[[], SqlOp], transaction: bool = True) -> Any:
        with self._lock:
            conn = self._connection()
            try:
                if not transaction:
                    return _drive(conn, make_op())
                with self._transaction(conn):
                    return _drive(conn, make_op())
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc

    async def _arun(self, make_op: Callable[[], SqlOp], transaction: bool = True) -> Any:
        if self._async_in_thread:
            return await anyio.to_thread.run_sync(self._run, make_op, transaction)
        await anyio.lowlevel.checkpoint()
        return self._run(make_op, transaction)

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return StoreError(
                f"the store database {self._path!r} stayed locked by another connection for "
                f"longer than busy_timeout={self._busy_timeout}s ({exc}); retry, or pass a "
                "larger busy_timeout"
            )
        return StoreError(f"the store database {self._path!r} failed: {exc}")


class AsyncSqliteStore(AsyncNames, SqliteStore):  # type: ignore[misc]
    """LangGraph's ``AsyncSqliteStore`` name: a :class:`SqliteStore` whose ``setup``,
    ``sweep_ttl`` and sweeper methods are coroutines (every store has both APIs)."""
