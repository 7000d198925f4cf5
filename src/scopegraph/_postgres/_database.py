"""``Database``: pooled connections to one PostgreSQL database, for one set of tables.

A connection string checked up front; on first use a probe connection that creates or
migrates the tables, then lazily opened pools: a ``psycopg_pool.ConnectionPool`` for the
sync API and, on asyncio, an ``AsyncConnectionPool`` bound to the event loop that first
uses it. psycopg's async API works on asyncio only, so on trio the async runner runs the
sync one in a worker thread (a cancelled call returns once its statement has completed
or been rolled back); ``scopegraph._backend`` tells which, at each call.

Connections are checked and replaced: one that sat unused for ``CHECK_IDLE_AFTER``
seconds is checked (one round trip) before it is handed out, and an operation that meets
a broken connection (the server restarted, ``pg_terminate_backend``, a network blip)
runs once more on a fresh one while the pool checks its other connections. While the
server is down, operations fail within ``pool_timeout`` with the caller's connection
error, and the pool keeps reconnecting in the background.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from .._backend import long_lived_asyncio_loop, running_on_asyncio
from ._drivers import adrive, drive
from ._errors import ErrorKinds
from ._ops import Op, Schema

__all__ = ("CHECK_IDLE_AFTER", "Database")

_T = TypeVar("_T")

_Conn = psycopg.Connection[TupleRow]
_AConn = psycopg.AsyncConnection[TupleRow]

CHECK_IDLE_AFTER = 2.0
"""Seconds a pooled connection may sit unused before it is checked (one round trip) on
checkout. Connections in steady use are not checked: a server restart then fails one
attempt, which is repeated on a fresh connection."""

_last_used: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _mark_used(conn: _Conn) -> None:
    _last_used[conn] = time.monotonic()


async def _amark_used(conn: _AConn) -> None:
    _last_used[conn] = time.monotonic()


def _check_if_idle(conn: _Conn) -> None:
    if time.monotonic() - _last_used.get(conn, 0.0) > CHECK_IDLE_AFTER:
        ConnectionPool.check_connection(conn)


async def _acheck_if_idle(conn: _AConn) -> None:
    if time.monotonic() - _last_used.get(conn, 0.0) > CHECK_IDLE_AFTER:
        await AsyncConnectionPool.check_connection(conn)


class Database:
    """Pooled connections to one database for one user (saver, queue, store).

    Args:
        conninfo: a libpq connection string or URI.
        schema: the user's tables, created or migrated by the first connection.
        errors: the user's error classes and name (every psycopg error leaves as one).
        application_name: set on the connections unless ``conninfo`` sets it.
        pool_name: psycopg_pool's name of the pools (in its logs).
        pool_size: the most connections each pool (sync, async) opens.
        connect_timeout: seconds to wait for a connection, unless ``conninfo`` sets it.
        pool_timeout: seconds an operation waits for a free connection of the pool.
        reconnect_timeout: seconds the pool keeps re-opening connections after the server
            went away before it gives up (the next operation then tries again).
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: Schema,
        errors: ErrorKinds,
        application_name: str,
        pool_name: str,
        pool_size: int = 10,
        connect_timeout: int = 5,
        pool_timeout: float = 30.0,
        reconnect_timeout: float = 60.0,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise errors.malformed(exc) from exc
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = connect_timeout
        if "application_name" not in params:
            extra["application_name"] = application_name
        self.schema = schema
        self.errors = errors
        self.conninfo = make_conninfo(conninfo, **extra)
        self.params = conninfo_to_dict(self.conninfo)
        self._connect_timeout = float(str(self.params["connect_timeout"]))
        self._pool_name = pool_name
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._reconnect_timeout = reconnect_timeout
        self._lock = threading.Lock()
        self._pool: ConnectionPool[_Conn] | None = None
        self._apool: AsyncConnectionPool[_AConn] | None = None
        self._alock: anyio.Lock | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        # Connections in steady use stay here between async operations instead of going
        # back to the pool: a checkout is then a list pop, which saves psycopg_pool's
        # locking and bookkeeping on every operation. They remain checked out of the
        # pool, so its size still bounds them; one idle for CHECK_IDLE_AFTER seconds, or
        # not idle and healthy, goes back to the pool, which checks or replaces it. While
        # operations wait in the pool (``_waiting``), a finished operation's connection
        # goes back to the pool, where the first waiter gets it.
        self._free: list[tuple[_AConn, float]] = []
        self._waiting = 0
        self._schema_ready = False
        self.closed = False

    # -- naming and errors -------------------------------------------------------------

    def target(self) -> str:
        """``host:port (database 'name')``, for messages."""
        params = self.params
        host = params.get("host") or params.get("hostaddr") or "localhost"
        port = params.get("port") or os.environ.get("PGPORT") or "5432"
        dbname = params.get("dbname") or params.get("user") or "(default)"
        where = host if str(host).startswith("/") else f"{host}:{port}"
        return f"{where} (database {dbname!r})"

    def connect_error(self, exc: psycopg.Error) -> Exception:
        return self.errors.connect(exc, self.target(), self.params)

    def error(self, exc: psycopg.Error) -> Exception:
        """The user's error for a failed operation (mapped from psycopg's)."""
        return self.errors.translate(exc, self.target(), (self._pool_size, self._pool_timeout))

    def check_usable(self) -> None:
        if self.closed:
            raise self.errors.closed()

    # -- sync --------------------------------------------------------------------------

    def run(
        self, make_op: Callable[[], Op[_T]], *, transaction: bool = False, retry: bool = True
    ) -> _T:
        """Run an operation on a connection of the sync pool (in one transaction if
        asked). With ``retry``, once more on a fresh connection when the first one turns
        out to be broken; the pool then checks its other connections, which a server
        restart broke too."""
        pool = self.pool()
        for attempt in (1, 2):
            conn: _Conn | None = None
            try:
                with pool.connection() as conn:
                    if not transaction:
                        return drive(conn, make_op())
                    with conn.transaction():
                        return drive(conn, make_op())
            except psycopg.OperationalError as exc:
                if not retry or attempt == 2 or conn is None or not conn.broken:
                    raise self.error(exc) from exc
                pool.check()
            except psycopg.Error as exc:
                raise self.error(exc) from exc
        raise AssertionError("unreachable")

    def pool(self) -> ConnectionPool[_Conn]:
        """The sync pool, opened (and the tables set up) on first use."""
        with self._lock:
            self.check_usable()
            if self._pool is not None:
                return self._pool
            try:
                probe = psycopg.Connection.connect(self.conninfo, autocommit=True)
            except psycopg.Error as exc:
                raise self.connect_error(exc) from exc
            try:
                with probe:
                    if not self._schema_ready:
                        self._setup_on(probe)
            except psycopg.Error as exc:
                raise self.error(exc) from exc
            pool = ConnectionPool(
                self.conninfo, check=_check_if_idle, reset=_mark_used, **self._pool_kwargs()
            )
            try:
                pool.open(wait=True, timeout=self._connect_timeout + 5)
            except psycopg.Error as exc:
                pool.close()
                raise self.error(exc) from exc
            self._pool = pool
            return pool

    def close(self) -> None:
        """Close the pools. The async pool can only be closed on its event loop: this
        does it when that loop is idle (not running, not closed); otherwise its
        connections are closed when it is garbage-collected. Prefer :meth:`aclose`."""
        with self._lock:
            self.closed = True
            pool, self._pool = self._pool, None
            apool, self._apool = self._apool, None
        if pool is not None:
            pool.close()
        loop = self._aloop
        idle = loop is not None and not loop.is_closed() and not loop.is_running()
        if apool is not None and loop is not None and idle:
            loop.run_until_complete(apool.close())

    def _pool_kwargs(self) -> dict[str, Any]:
        return {
            "min_size": 1,
            "max_size": self._pool_size,
            "kwargs": {"autocommit": True},
            "open": False,
            "timeout": self._pool_timeout,
            "reconnect_timeout": self._reconnect_timeout,
            "name": self._pool_name,
        }

    def _setup_on(self, conn: _Conn) -> None:
        version = drive(conn, self.schema.read_version())
        if version is not None and version > self.schema.version:
            raise self.schema.newer_error(version)
        if version != self.schema.version:
            with conn.transaction():
                drive(conn, self.schema.migrate())
        self._schema_ready = True

    # -- async -------------------------------------------------------------------------

    async def setup(self) -> None:
        """Connect, and create or migrate the tables (also done on first use)."""
        if long_lived_asyncio_loop():
            await self._async_pool()
        else:
            await anyio.to_thread.run_sync(self.pool)

    async def arun(
        self, make_op: Callable[[], Op[_T]], *, transaction: bool = False, retry: bool = True
    ) -> _T:
        """The async twin of :meth:`run`: on asyncio the async pool, on trio (and on the
        asyncio loop a node borrows there) :meth:`run` in a worker thread."""
        if not long_lived_asyncio_loop():
            return await anyio.to_thread.run_sync(
                lambda: self.run(make_op, transaction=transaction, retry=retry)
            )
        pool = await self._async_pool()
        for attempt in (1, 2):
            aconn = await self._acheckout(pool)
            try:
                if not transaction:
                    result = await adrive(aconn, make_op())
                else:
                    async with aconn.transaction():
                        result = await adrive(aconn, make_op())
            except psycopg.OperationalError as exc:
                await self._areturn(pool, aconn)
                if not retry or attempt == 2 or not aconn.broken:
                    raise self.error(exc) from exc
                await self._acheck_all(pool)
                continue
            except psycopg.Error as exc:
                await self._areturn(pool, aconn)
                raise self.error(exc) from exc
            except BaseException:
                await self._areturn(pool, aconn)  # e.g. cancelled mid-query
                raise
            await self._areturn(pool, aconn)
            return result
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close both pools; unusable afterwards. An asyncio pool is closed only on its
        own event loop (elsewhere its connections close when it is garbage-collected)."""
        with self._lock:
            self.closed = True
            pool, self._pool = self._pool, None
        apool, self._apool = self._apool, None
        free, self._free = self._free, []
        with anyio.CancelScope(shield=True):
            on_its_loop = running_on_asyncio() and asyncio.get_running_loop() is self._aloop
            if apool is not None and on_its_loop:
                for aconn, _ in free:
                    await apool.putconn(aconn)
                await apool.close()
            if pool is not None:
                await anyio.to_thread.run_sync(pool.close)

    async def _acheck_all(self, pool: AsyncConnectionPool[_AConn]) -> None:
        """The server restarted? Its other connections are broken too: check them."""
        free, self._free = self._free, []
        with anyio.CancelScope(shield=True):
            for other, _ in free:
                await pool.putconn(other)
            await pool.check()

    async def _acheckout(self, pool: AsyncConnectionPool[_AConn]) -> _AConn:
        free = self._free
        now = time.monotonic()
        while free:
            aconn, last_used = free.pop()
            if now - last_used <= CHECK_IDLE_AFTER:
                return aconn
            with anyio.CancelScope(shield=True):
                await pool.putconn(aconn)
        self._waiting += 1
        try:
            return await pool.getconn()
        except PoolTimeout as exc:
            raise self.error(exc) from exc
        finally:
            self._waiting -= 1

    async def _areturn(self, pool: AsyncConnectionPool[_AConn], aconn: _AConn) -> None:
        idle = aconn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        keep = not self._waiting and not self.closed and pool is self._apool
        if keep and idle and not aconn.broken:
            self._free.append((aconn, time.monotonic()))
            return
        with anyio.CancelScope(shield=True):
            await pool.putconn(aconn)

    async def _async_pool(self) -> AsyncConnectionPool[_AConn]:
        loop = asyncio.get_running_loop()
        pool = self._apool
        if pool is not None and self._aloop is loop and not self.closed:
            return pool  # the common case: no lock needed
        if self._aloop is None:
            self._aloop, self._alock = loop, anyio.Lock()
        elif self._aloop is not loop:
            raise self.errors.error(
                f"this {self.errors.label}'s async connections belong to another event "
                f"loop; create one {self.errors.label} per event loop"
            )
        assert self._alock is not None
        async with self._alock:
            self.check_usable()
            if self._apool is None:
                self._apool = await self._open_async_pool()
            return self._apool

    async def _open_async_pool(self) -> AsyncConnectionPool[_AConn]:
        try:
            probe = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise self.connect_error(exc) from exc
        try:
            async with probe:
                if not self._schema_ready:
                    await self._asetup_on(probe)
        except psycopg.Error as exc:
            raise self.error(exc) from exc
        pool = AsyncConnectionPool(
            self.conninfo, check=_acheck_if_idle, reset=_amark_used, **self._pool_kwargs()
        )
        try:
            await pool.open(wait=True, timeout=self._connect_timeout + 5)
        except psycopg.Error as exc:
            await pool.close()
            raise self.error(exc) from exc
        return pool

    async def _asetup_on(self, conn: _AConn) -> None:
        version = await adrive(conn, self.schema.read_version())
        if version is not None and version > self.schema.version:
            raise self.schema.newer_error(version)
        if version != self.schema.version:
            async with conn.transaction():
                await adrive(conn, self.schema.migrate())
        self._schema_ready = True
