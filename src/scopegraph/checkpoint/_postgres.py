"""PostgresSaver: checkpoints in PostgreSQL, through psycopg 3 and psycopg_pool.

Layout (all tables prefixed ``scopegraph_``, created in the connection's ``search_path``):

- ``scopegraph_schema_version``: one row, the schema version of the tables below;
- ``scopegraph_checkpoints``: one row per checkpoint, the document from :mod:`._codec`
  stored as BYTEA; ``seq`` (bigserial) orders a thread's checkpoints;
- ``scopegraph_checkpoint_tasks``: the task records of the step after a checkpoint,
  upserted by task id;
- ``scopegraph_heads``: the newest checkpoint id of each (thread, namespace). ``put``
  moves the head with one conditional statement (``UPDATE ... WHERE checkpoint_id = X`` /
  ``INSERT ... ON CONFLICT DO NOTHING``) in the transaction that inserts the checkpoint,
  so of two runs that expect the same head exactly one wins; the other gets
  CheckpointConflictError and nothing of its write is stored.

Schema changes are versioned migrations (:data:`_MIGRATIONS`), applied in one
transaction under an advisory lock, so processes that start together do not race.

Every operation is a small generator that yields SQL statements and receives their
results (``_Op``); one driver runs it on a sync connection, another on an async one.
The logic of each operation thus exists once, for the sync and the async API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ClassVar, Self, TypeVar

import anyio
import anyio.to_thread

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.rows import TupleRow
    from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("PostgresSaver needs psycopg: pip install 'scopegraph[postgres]'") from exc

from .._backend import running_on_asyncio
from ._base import (
    SCHEMA_VERSION,
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointError,
    CheckpointTuple,
    SchemaVersionError,
    TaskRecord,
    check_limit,
    conflict_error,
    describe_checkpoint,
    not_found_error,
)
from ._codec import decode_checkpoint, decode_task, encode_checkpoint, encode_task

__all__ = ("CheckpointConnectionError", "PostgresSaver")

_T = TypeVar("_T")


class CheckpointConnectionError(CheckpointError):
    """The PostgreSQL server cannot be reached, or rejected the connection.

    The message names what to check in the connection string.
    """


# -- schema ------------------------------------------------------------------------------

# _MIGRATIONS[i] upgrades the tables from schema version i to i + 1. A version that only
# changed the encoded documents has an empty migration. len(_MIGRATIONS) == SCHEMA_VERSION.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE scopegraph_checkpoints (
            seq BIGSERIAL PRIMARY KEY,
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            parent_id TEXT,
            step INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            data BYTEA NOT NULL,
            UNIQUE (thread_id, ns, checkpoint_id)
        )
        """,
        "CREATE INDEX scopegraph_checkpoints_newest ON scopegraph_checkpoints (thread_id, ns, seq)",
        """
        CREATE TABLE scopegraph_checkpoint_tasks (
            seq BIGSERIAL NOT NULL,
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (thread_id, ns, checkpoint_id, task_id)
        )
        """,
        """
        CREATE TABLE scopegraph_heads (
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            PRIMARY KEY (thread_id, ns)
        )
        """,
    ),
)

# Serializes migrations between processes: pg_advisory_xact_lock(key), held until commit.
_MIGRATION_LOCK_KEY = int.from_bytes(b"sg-ckpt", "big")

_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS scopegraph_schema_version (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    version INTEGER NOT NULL,
    migrated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
_VERSION_TABLE_EXISTS = "SELECT to_regclass('scopegraph_schema_version') IS NOT NULL"
_SELECT_VERSION = "SELECT version FROM scopegraph_schema_version"
_STORE_VERSION = """
INSERT INTO scopegraph_schema_version (singleton, version) VALUES (TRUE, %(version)s)
ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, migrated_at = now()
"""

# -- statements --------------------------------------------------------------------------

_SELECT_TUPLES = """
SELECT c.checkpoint_id, c.data,
       ARRAY(SELECT t.task_id FROM scopegraph_checkpoint_tasks t
             WHERE t.thread_id = c.thread_id AND t.ns = c.ns
               AND t.checkpoint_id = c.checkpoint_id ORDER BY t.seq),
       ARRAY(SELECT t.data FROM scopegraph_checkpoint_tasks t
             WHERE t.thread_id = c.thread_id AND t.ns = c.ns
               AND t.checkpoint_id = c.checkpoint_id ORDER BY t.seq)
FROM scopegraph_checkpoints c
WHERE c.thread_id = %(thread_id)s AND c.ns = %(ns)s
"""
_SELECT_NEWEST = _SELECT_TUPLES + " ORDER BY c.seq DESC LIMIT %(limit)s"
_SELECT_BY_ID = _SELECT_TUPLES + " AND c.checkpoint_id = %(checkpoint_id)s"
_SELECT_NEWEST_BEFORE = (
    _SELECT_TUPLES + " AND c.seq < %(before_seq)s ORDER BY c.seq DESC LIMIT %(limit)s"
)
_SELECT_SEQ = """
SELECT seq FROM scopegraph_checkpoints
WHERE thread_id = %(thread_id)s AND ns = %(ns)s AND checkpoint_id = %(checkpoint_id)s
"""
_SELECT_HEAD = """
SELECT checkpoint_id FROM scopegraph_heads WHERE thread_id = %(thread_id)s AND ns = %(ns)s
"""
_CREATE_HEAD = """
INSERT INTO scopegraph_heads (thread_id, ns, checkpoint_id)
VALUES (%(thread_id)s, %(ns)s, %(checkpoint_id)s)
ON CONFLICT (thread_id, ns) DO NOTHING
"""
# Under READ COMMITTED a concurrent UPDATE waits for the row lock, then re-checks the
# WHERE clause against the committed row: the loser of a race updates nothing.
_ADVANCE_HEAD = """
UPDATE scopegraph_heads SET checkpoint_id = %(checkpoint_id)s
WHERE thread_id = %(thread_id)s AND ns = %(ns)s AND checkpoint_id = %(expected)s
"""
_INSERT_CHECKPOINT = """
INSERT INTO scopegraph_checkpoints
    (thread_id, ns, checkpoint_id, parent_id, step, created_at, data)
VALUES (%(thread_id)s, %(ns)s, %(checkpoint_id)s, %(parent_id)s, %(step)s, %(created_at)s,
        %(data)s)
ON CONFLICT (thread_id, ns, checkpoint_id) DO NOTHING
"""
# One statement each (one round trip, atomic under autocommit): move the head only if it
# is where the writer expects it, and insert the checkpoint only if the head moved. The
# checkpoint's INSERT is the statement itself, so its row count (1 or 0) says whether the
# write happened, with no result rows to fetch.
_INSERT_CHECKPOINT_IF_MOVED = """
INSERT INTO scopegraph_checkpoints
    (thread_id, ns, checkpoint_id, parent_id, step, created_at, data)
SELECT %(thread_id)s, %(ns)s, %(checkpoint_id)s, %(parent_id)s, %(step)s, %(created_at)s,
       %(data)s
WHERE EXISTS (SELECT 1 FROM moved)"""
# The records of the step before the checkpoint: none, one (scalar parameters: the
# common case of a step with one task), or several (arrays).
_RECORDS_NONE = ""
_RECORDS_ONE = """
, records AS (
    INSERT INTO scopegraph_checkpoint_tasks (thread_id, ns, checkpoint_id, task_id, data)
    SELECT %(thread_id)s, %(ns)s, %(parent_id)s, %(task_id)s, %(task_data)s
    WHERE EXISTS (SELECT 1 FROM moved)
    ON CONFLICT (thread_id, ns, checkpoint_id, task_id) DO UPDATE SET data = EXCLUDED.data
    RETURNING 1
)"""
_RECORDS_MANY = """
, records AS (
    INSERT INTO scopegraph_checkpoint_tasks (thread_id, ns, checkpoint_id, task_id, data)
    SELECT %(thread_id)s, %(ns)s, %(parent_id)s, r.task_id, r.data
    FROM unnest(%(task_ids)s::text[], %(task_data)s::bytea[]) AS r(task_id, data)
    WHERE EXISTS (SELECT 1 FROM moved)
    ON CONFLICT (thread_id, ns, checkpoint_id, task_id) DO UPDATE SET data = EXCLUDED.data
    RETURNING 1
)"""
_MOVE_FIRST = """
WITH moved AS (
    INSERT INTO scopegraph_heads (thread_id, ns, checkpoint_id)
    VALUES (%(thread_id)s, %(ns)s, %(checkpoint_id)s)
    ON CONFLICT (thread_id, ns) DO NOTHING
    RETURNING 1
)"""
_MOVE_NEXT = """
WITH moved AS (
    UPDATE scopegraph_heads SET checkpoint_id = %(checkpoint_id)s
    WHERE thread_id = %(thread_id)s AND ns = %(ns)s AND checkpoint_id = %(expected)s
    RETURNING 1
)"""
# One statement: move the head if it is where the writer expects it, and only if it moved,
# insert the records and the checkpoint.
_PUT = {
    (first, shape): move + records + _INSERT_CHECKPOINT_IF_MOVED
    for first, move in ((True, _MOVE_FIRST), (False, _MOVE_NEXT))
    for shape, records in (("none", _RECORDS_NONE), ("one", _RECORDS_ONE), ("many", _RECORDS_MANY))
}
# The checkpoint row is locked (FOR KEY SHARE) against a concurrent delete_thread while
# the record is stored; no row is stored when the checkpoint does not exist.
_UPSERT_TASK = """
INSERT INTO scopegraph_checkpoint_tasks (thread_id, ns, checkpoint_id, task_id, data)
SELECT %(thread_id)s, %(ns)s, %(checkpoint_id)s, %(task_id)s, %(data)s
WHERE EXISTS (
    SELECT 1 FROM scopegraph_checkpoints
    WHERE thread_id = %(thread_id)s AND ns = %(ns)s AND checkpoint_id = %(checkpoint_id)s
    FOR KEY SHARE
)
ON CONFLICT (thread_id, ns, checkpoint_id, task_id) DO UPDATE SET data = EXCLUDED.data
"""
_DELETE_THREAD = (
    "DELETE FROM scopegraph_checkpoint_tasks WHERE thread_id = %(thread_id)s",
    "DELETE FROM scopegraph_checkpoints WHERE thread_id = %(thread_id)s",
    "DELETE FROM scopegraph_heads WHERE thread_id = %(thread_id)s",
)

# -- operations: generators that yield statements and receive their results -------------

_Params = Mapping[str, Any] | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Result:
    rows: list[TupleRow]
    rowcount: int


_Op = Generator[tuple[str, _Params], _Result, _T]


def read_schema_version(exists_sql: str, select_sql: str) -> _Op[int | None]:
    """The stored schema version of a set of tables (None: never set up)."""
    exists = yield exists_sql, None
    if not exists.rows[0][0]:
        return None
    found = yield select_sql, None
    return int(found.rows[0][0]) if found.rows else None


def migrate(
    *,
    lock_key: int,
    create_version_table: str,
    select_version: str,
    store_version: str,
    migrations: Sequence[Sequence[str]],
    newer: Callable[[int], Exception],
) -> _Op[None]:
    """Create or upgrade a set of tables to ``len(migrations)``. Run in ONE transaction:
    the advisory lock is released, and every change kept, at commit."""
    target = len(migrations)
    yield "SELECT pg_advisory_xact_lock(%(key)s)", {"key": lock_key}
    yield create_version_table, None
    found = yield select_version, None
    current = int(found.rows[0][0]) if found.rows else 0
    if current > target:
        raise newer(current)
    for version in range(current, target):
        for statement in migrations[version]:
            yield statement, None
    if current < target:
        yield store_version, {"version": target}


def _read_schema_version() -> _Op[int | None]:
    return read_schema_version(_VERSION_TABLE_EXISTS, _SELECT_VERSION)


def _newer_schema_error(version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the PostgreSQL checkpoint tables were written by a newer scopegraph (schema "
        f"version {version}; this release supports up to {SCHEMA_VERSION}); upgrade "
        "scopegraph to use them. Nothing was changed."
    )


def _migrate() -> _Op[None]:
    return migrate(
        lock_key=_MIGRATION_LOCK_KEY,
        create_version_table=_CREATE_VERSION_TABLE,
        select_version=_SELECT_VERSION,
        store_version=_STORE_VERSION,
        migrations=_MIGRATIONS,
        newer=_newer_schema_error,
    )


def _to_tuple(thread_id: str, ns: str, row: TupleRow) -> CheckpointTuple:
    checkpoint_id, data, task_ids, task_blobs = row
    label = describe_checkpoint(thread_id, ns, checkpoint_id)
    checkpoint = decode_checkpoint(bytes(data), label)
    tasks = [
        decode_task(bytes(blob), f"task record {task_id!r} of {label}")
        for task_id, blob in zip(task_ids, task_blobs, strict=True)
    ]
    return CheckpointTuple(thread_id=thread_id, ns=ns, checkpoint=checkpoint, tasks=tasks)


def _get_tuple(thread_id: str, ns: str, checkpoint_id: str | None) -> _Op[CheckpointTuple | None]:
    params = {"thread_id": thread_id, "ns": ns, "checkpoint_id": checkpoint_id, "limit": 1}
    found = yield (_SELECT_NEWEST if checkpoint_id is None else _SELECT_BY_ID), params
    if found.rows:
        return _to_tuple(thread_id, ns, found.rows[0])
    if checkpoint_id is None:
        return None
    raise not_found_error(thread_id, ns, checkpoint_id)


def _list(
    thread_id: str, ns: str, before: str | None, limit: int | None
) -> _Op[list[CheckpointTuple]]:
    params: dict[str, Any] = {"thread_id": thread_id, "ns": ns, "limit": limit}
    if before is None:
        found = yield _SELECT_NEWEST, params
    else:
        anchor = yield _SELECT_SEQ, {**params, "checkpoint_id": before}
        if not anchor.rows:
            raise not_found_error(thread_id, ns, before)
        found = yield _SELECT_NEWEST_BEFORE, {**params, "before_seq": anchor.rows[0][0]}
    return [_to_tuple(thread_id, ns, row) for row in found.rows]


def _put(
    thread_id: str,
    ns: str,
    checkpoint: Checkpoint,
    data: bytes,
    expected_latest: str | None,
    records: Sequence[tuple[str, bytes]] = (),
) -> _Op[None]:
    """One statement (the checkpoint, the head, and the records of the step before it):
    a conflict stores nothing, and is told apart with one more read."""
    params: dict[str, Any] = {
        "thread_id": thread_id,
        "ns": ns,
        "checkpoint_id": checkpoint.id,
        "expected": expected_latest,
        "parent_id": checkpoint.parent_id,
        "step": checkpoint.step,
        "created_at": checkpoint.created_at,
        "data": data,
    }
    if not records or checkpoint.parent_id is None:
        shape = "none"
    elif len(records) == 1:
        shape = "one"
        params["task_id"], params["task_data"] = records[0]
    else:
        shape = "many"
        params["task_ids"] = [task_id for task_id, _ in records]
        params["task_data"] = [record for _, record in records]
    try:
        result = yield _PUT[expected_latest is None, shape], params
    except psycopg.errors.UniqueViolation:  # the checkpoint id exists already
        head = yield _SELECT_HEAD, params
        if head.rows and head.rows[0][0] == checkpoint.id:
            return  # a retry after a broken connection: the first attempt did land
        raise conflict_error(thread_id, ns, checkpoint, expected_latest, expected_latest) from None
    if result.rowcount != 1:
        head = yield _SELECT_HEAD, params
        actual = head.rows[0][0] if head.rows else None
        if actual == checkpoint.id:
            return  # a retry after a broken connection: the first attempt did land
        raise conflict_error(thread_id, ns, checkpoint, expected_latest, actual)


def _put_task(thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes) -> _Op[None]:
    """One statement: stores the record only if its checkpoint exists."""
    params = {
        "thread_id": thread_id,
        "ns": ns,
        "checkpoint_id": checkpoint_id,
        "task_id": task_id,
        "data": data,
    }
    stored = yield _UPSERT_TASK, params
    if stored.rowcount != 1:
        raise not_found_error(thread_id, ns, checkpoint_id)


def _delete_thread(thread_id: str) -> _Op[None]:
    for statement in _DELETE_THREAD:
        yield statement, {"thread_id": thread_id}


# -- pooled connections ------------------------------------------------------------------

_CHECK_IDLE_AFTER = 2.0
"""Seconds a pooled connection may sit unused before it is checked (one round trip) on
checkout. Connections in steady use are not checked: a server restart then fails one
operation, after which the pool replaces the broken connection."""

_last_used: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _mark_used(conn: psycopg.Connection[TupleRow]) -> None:
    _last_used[conn] = time.monotonic()


async def _amark_used(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    _last_used[conn] = time.monotonic()


def _check_if_idle(conn: psycopg.Connection[TupleRow]) -> None:
    if time.monotonic() - _last_used.get(conn, 0.0) > _CHECK_IDLE_AFTER:
        ConnectionPool.check_connection(conn)


async def _acheck_if_idle(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    if time.monotonic() - _last_used.get(conn, 0.0) > _CHECK_IDLE_AFTER:
        await AsyncConnectionPool.check_connection(conn)


# -- drivers -----------------------------------------------------------------------------


def _drive(conn: psycopg.Connection[TupleRow], op: _Op[_T]) -> _T:
    """Run an operation's statements; a database error is thrown into the operation."""
    try:
        statement, params = next(op)
        while True:
            try:
                cursor = conn.execute(statement, params)
                rows = cursor.fetchall() if cursor.description is not None else []
            except psycopg.errors.UniqueViolation as exc:
                statement, params = op.throw(exc)
                continue
            statement, params = op.send(_Result(rows, cursor.rowcount))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        op.close()


async def _adrive(conn: psycopg.AsyncConnection[TupleRow], op: _Op[_T]) -> _T:
    """The async twin of :func:`_drive`. Each connection keeps one cursor for the saver
    (an attribute of the connection: the two go away together)."""
    cursor = getattr(conn, "_scopegraph_cursor", None)
    if cursor is None:
        cursor = conn.cursor()
        conn._scopegraph_cursor = cursor  # type: ignore[attr-defined]
    try:
        statement, params = next(op)
        while True:
            try:
                await cursor.execute(statement, params)
                rows = await cursor.fetchall() if cursor.description is not None else []
            except psycopg.errors.UniqueViolation as exc:
                statement, params = op.throw(exc)
                continue
            statement, params = op.send(_Result(rows, cursor.rowcount))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        op.close()


# -- errors ------------------------------------------------------------------------------

# SQLSTATE classes that mean "the connection is gone", not "the statement failed".
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _is_connection_failure(exc: psycopg.Error) -> bool:
    return exc.sqlstate is None or exc.sqlstate.startswith(_CONNECTION_SQLSTATES)


def _explain_connect_failure(message: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(what happened, what to fix) for a failed connection attempt."""
    lowered = message.lower()
    dbname = params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE")
    user = params.get("user") or os.environ.get("PGUSER")
    if "connection refused" in lowered:
        return "connection refused", (
            "check host and port in the connection string, and that the server is running"
        )
    if "timeout expired" in lowered or "timed out" in lowered:
        return "no answer in time", (
            "check host and port in the connection string, and the network in between; "
            "raise connect_timeout if the server is slow to answer"
        )
    if "resolve host" in lowered or "translate host name" in lowered:
        return "unknown host name", "check host in the connection string"
    if "database" in lowered and "does not exist" in lowered:
        return f"database {dbname!r} does not exist", (
            "check dbname in the connection string, or create the database "
            f"(CREATE DATABASE {dbname})"
        )
    if "role" in lowered and "does not exist" in lowered:
        return f"user {user!r} does not exist", "check user in the connection string"
    if "password" in lowered or "authentication" in lowered:
        return "authentication failed", "check user and password in the connection string"
    return message.strip().splitlines()[0], "check the connection string"


# -- pooled connections to one database -------------------------------------------------


class PooledPostgres:
    """The connection side shared by :class:`PostgresSaver` and the run server's queue:
    a connection string checked up front, a probe connection that creates or migrates
    the tables, lazily opened pools (sync; async on asyncio), and errors that name what
    to fix. Subclasses set the class attributes and the three schema hooks."""

    _label: ClassVar[str]
    """The class's name in messages, e.g. ``"PostgresSaver"``."""
    _prefix: ClassVar[str] = ""
    """What every message starts with, e.g. ``"run queue: "``."""
    _pool_name: ClassVar[str]
    _schema_version: ClassVar[int]
    _error: ClassVar[type[Exception]]
    _connection_error: ClassVar[type[Exception]]

    def _read_schema_version_op(self) -> _Op[int | None]:
        raise NotImplementedError

    def _migrate_op(self) -> _Op[None]:
        raise NotImplementedError

    def _newer_schema_error(self, version: int) -> Exception:
        raise NotImplementedError

    def _init_connection(
        self,
        conninfo: str,
        *,
        application_name: str,
        pool_size: int,
        connect_timeout: int,
        pool_timeout: float,
        reconnect_timeout: float,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise self._connection_error(
                f"{self._prefix}malformed PostgreSQL connection string: {str(exc).strip()}; "
                "write it as 'host=... port=... dbname=... user=...' or "
                "'postgresql://user:password@host:port/dbname'"
            ) from exc
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = connect_timeout
        if "application_name" not in params:
            extra["application_name"] = application_name
        self._conninfo = make_conninfo(conninfo, **extra)
        self._params = conninfo_to_dict(self._conninfo)
        self._connect_timeout = float(str(self._params["connect_timeout"]))
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._reconnect_timeout = reconnect_timeout
        self._lock = threading.Lock()
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] | None = None
        self._apool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]] | None = None
        self._alock: anyio.Lock | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._schema_ready = False
        self._closed = False

    def __repr__(self) -> str:
        return f"<{self._label} {self._target()}>"

    def _target(self) -> str:
        host = self._params.get("host") or self._params.get("hostaddr") or "localhost"
        port = self._params.get("port") or os.environ.get("PGPORT") or "5432"
        dbname = self._params.get("dbname") or self._params.get("user") or "(default)"
        where = host if str(host).startswith("/") else f"{host}:{port}"
        return f"{where} (database {dbname!r})"

    def _connect_error(self, exc: psycopg.Error) -> Exception:
        what, fix = _explain_connect_failure(str(exc), self._params)
        return self._connection_error(
            f"{self._prefix}cannot connect to PostgreSQL at {self._target()}: {what}; {fix}"
        )

    def _pool_error(self, exc: psycopg.Error) -> Exception:
        if isinstance(exc, PoolTimeout):
            return self._connection_error(
                f"{self._prefix}no connection to PostgreSQL at {self._target()} within "
                f"{self._pool_timeout}s: the server is unreachable, or all {self._pool_size} "
                "connections of the pool are busy (raise pool_size or pool_timeout)"
            )
        if isinstance(exc, psycopg.OperationalError) and _is_connection_failure(exc):
            return self._connection_error(
                f"{self._prefix}lost the connection to PostgreSQL at {self._target()}: "
                f"{str(exc).strip()}; the operation may not have completed"
            )
        return self._error(f"{self._prefix}PostgreSQL error: {str(exc).strip()}")

    def _check_usable(self) -> None:
        if self._closed:
            raise self._error(f"this {self._label} is closed; create a new one")

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

    def _setup_on(self, conn: psycopg.Connection[TupleRow]) -> None:
        version = _drive(conn, self._read_schema_version_op())
        if version is not None and version > self._schema_version:
            raise self._newer_schema_error(version)
        if version != self._schema_version:
            with conn.transaction():
                _drive(conn, self._migrate_op())
        self._schema_ready = True

    async def _asetup_on(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        version = await _adrive(conn, self._read_schema_version_op())
        if version is not None and version > self._schema_version:
            raise self._newer_schema_error(version)
        if version != self._schema_version:
            async with conn.transaction():
                await _adrive(conn, self._migrate_op())
        self._schema_ready = True

    def _run(
        self, make_op: Callable[[], _Op[_T]], *, transaction: bool = False, retry: bool = True
    ) -> _T:
        """Run an operation on a connection of the sync pool (in one transaction if
        asked). With ``retry``, once more on a fresh connection when the first one turns
        out to be broken; the pool then checks its other connections, which a server
        restart broke too."""
        pool = self._sync_pool()
        for attempt in (1, 2):
            conn: psycopg.Connection[TupleRow] | None = None
            try:
                with pool.connection() as conn:
                    if not transaction:
                        return _drive(conn, make_op())
                    with conn.transaction():
                        return _drive(conn, make_op())
            except psycopg.OperationalError as exc:
                if not retry or attempt == 2 or conn is None or not conn.broken:
                    raise self._pool_error(exc) from exc
                pool.check()
            except psycopg.Error as exc:
                raise self._pool_error(exc) from exc
        raise AssertionError("unreachable")

    def _sync_pool(self) -> ConnectionPool[psycopg.Connection[TupleRow]]:
        with self._lock:
            self._check_usable()
            if self._pool is not None:
                return self._pool
            try:
                probe = psycopg.Connection.connect(self._conninfo, autocommit=True)
            except psycopg.Error as exc:
                raise self._connect_error(exc) from exc
            try:
                with probe:
                    if not self._schema_ready:
                        self._setup_on(probe)
            except psycopg.Error as exc:
                raise self._pool_error(exc) from exc
            pool = ConnectionPool(
                self._conninfo, check=_check_if_idle, reset=_mark_used, **self._pool_kwargs()
            )
            try:
                pool.open(wait=True, timeout=self._connect_timeout + 5)
            except psycopg.Error as exc:
                pool.close()
                raise self._pool_error(exc) from exc
            self._pool = pool
            return pool

    async def _async_pool(self) -> AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]:
        loop = asyncio.get_running_loop()
        pool = self._apool
        if pool is not None and self._aloop is loop and not self._closed:
            return pool  # the common case: no lock needed
        if self._aloop is None:
            self._aloop, self._alock = loop, anyio.Lock()
        elif self._aloop is not loop:
            raise self._error(
                f"this {self._label}'s async connections belong to another event loop; "
                f"create one {self._label} per event loop"
            )
        assert self._alock is not None
        async with self._alock:
            self._check_usable()
            if self._apool is not None:
                return self._apool
            try:
                probe = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except psycopg.Error as exc:
                raise self._connect_error(exc) from exc
            try:
                async with probe:
                    if not self._schema_ready:
                        await self._asetup_on(probe)
            except psycopg.Error as exc:
                raise self._pool_error(exc) from exc
            pool = AsyncConnectionPool(
                self._conninfo,
                check=_acheck_if_idle,
                reset=_amark_used,
                **self._pool_kwargs(),
            )
            try:
                await pool.open(wait=True, timeout=self._connect_timeout + 5)
            except psycopg.Error as exc:
                await pool.close()
                raise self._pool_error(exc) from exc
            self._apool = pool
            return pool


# -- the saver ---------------------------------------------------------------------------


class PostgresSaver(PooledPostgres, BaseCheckpointSaver):
    """A checkpointer storing threads in PostgreSQL (psycopg 3 with connection pools).

    Args:
        conninfo: a libpq connection string or URI, e.g.
            ``"postgresql://user:password@db.example.com:5432/app"``.
        pool_size: the most connections each pool (sync, async) opens.
        connect_timeout: seconds to wait for a connection to be established; used unless
            the connection string sets ``connect_timeout`` (libpq's minimum is 2).
        pool_timeout: seconds an operation waits for a free connection of the pool.
        reconnect_timeout: seconds the pool keeps trying to re-open connections after
            the server went away, before it gives up (operations then fail after
            ``pool_timeout``; the next one tries again).

    The pools are opened on first use; before that a probe connection checks the
    connection string (a failure raises :class:`CheckpointConnectionError` naming
    what to fix, within ``connect_timeout``) and creates or migrates the tables. Pooled
    connections are checked before each use, so the saver recovers when the server
    restarts.

    Backends: the sync API uses a ``psycopg_pool.ConnectionPool``. The async API uses a
    ``psycopg_pool.AsyncConnectionPool`` on asyncio (bound to the event loop that first
    uses it). psycopg's async API works only on asyncio, so under trio the async methods
    run the sync API in worker threads (``anyio.to_thread.run_sync``); a cancelled call
    then returns once its statement has completed or been rolled back. The backend is
    detected at each call, so one saver serves both.

    ``aclose()`` closes both pools; ``close()`` closes the sync pool, and the async one
    when its event loop is idle.

    Example::

        async with PostgresSaver.from_conn_string("postgresql://localhost/app") as saver:
            graph = builder.compile(checkpointer=saver)
            await graph.ainvoke(inputs, {"configurable": {"thread_id": "t1"}})
    """

    _label = "PostgresSaver"
    _pool_name = "scopegraph-checkpoint"
    _schema_version = SCHEMA_VERSION
    _error = CheckpointError
    _connection_error = CheckpointConnectionError

    def __init__(
        self,
        conninfo: str,
        *,
        pool_size: int = 10,
        connect_timeout: int = 5,
        pool_timeout: float = 30.0,
        reconnect_timeout: float = 60.0,
    ) -> None:
        self._init_connection(
            conninfo,
            application_name="scopegraph",
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            reconnect_timeout=reconnect_timeout,
        )
        self._free: list[tuple[psycopg.AsyncConnection[TupleRow], float]] = []
        self._waiting = 0  # operations waiting in pool.getconn() for a connection

    @classmethod
    def from_conn_string(cls, conninfo: str, **kwargs: Any) -> Self:
        """The saver for ``conninfo``; use it as ``with`` or ``async with`` to close it."""
        return cls(conninfo, **kwargs)

    def _read_schema_version_op(self) -> _Op[int | None]:
        return _read_schema_version()

    def _migrate_op(self) -> _Op[None]:
        return _migrate()

    def _newer_schema_error(self, version: int) -> Exception:
        return _newer_schema_error(version)

    # -- running operations ------------------------------------------------------------

    # Every operation may be run twice: once more, on a fresh connection, when the first
    # connection turns out to be broken (e.g. the server restarted while it sat in the
    # pool). Reads and upserts are idempotent; a put whose first attempt did land is
    # recognised by _put (the head is already the checkpoint).

    async def _arun(self, make_op: Callable[[], _Op[_T]], *, transaction: bool = False) -> _T:
        if not running_on_asyncio():
            return await anyio.to_thread.run_sync(
                functools.partial(self._run, make_op, transaction=transaction)
            )
        pool = await self._async_pool()
        for attempt in (1, 2):
            aconn = await self._acheckout(pool)
            try:
                if not transaction:
                    result = await _adrive(aconn, make_op())
                else:
                    async with aconn.transaction():
                        result = await _adrive(aconn, make_op())
            except psycopg.OperationalError as exc:
                await self._areturn(pool, aconn)
                if attempt == 2 or not aconn.broken:
                    raise self._pool_error(exc) from exc
                # The server restarted? Its other connections are broken too: check them.
                free, self._free = self._free, []
                with anyio.CancelScope(shield=True):
                    for other, _ in free:
                        await pool.putconn(other)
                    await pool.check()
                continue
            except psycopg.Error as exc:
                await self._areturn(pool, aconn)
                raise self._pool_error(exc) from exc
            except BaseException:
                await self._areturn(pool, aconn)  # e.g. cancelled mid-query
                raise
            await self._areturn(pool, aconn)
            return result
        raise AssertionError("unreachable")

    # Connections in steady use stay with the saver between operations (``_free``)
    # instead of going back to the pool each time: a checkout is then a list pop, which
    # saves psycopg_pool's locking and bookkeeping on every checkpoint write. They remain
    # checked out of the pool, so the pool's size still bounds them; one that sat unused
    # for _CHECK_IDLE_AFTER seconds, or is not idle and healthy, goes back to the pool,
    # which checks or replaces it. While operations wait in the pool for a connection
    # (more operations at once than the pool's size), a finished operation's connection
    # goes back to the pool, where the first waiter gets it; kept here, it would starve
    # them until pool_timeout.

    async def _acheckout(
        self, pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]
    ) -> psycopg.AsyncConnection[TupleRow]:
        free = self._free
        now = time.monotonic()
        while free:
            aconn, last_used = free.pop()
            if now - last_used <= _CHECK_IDLE_AFTER:
                return aconn
            with anyio.CancelScope(shield=True):
                await pool.putconn(aconn)
        self._waiting += 1
        try:
            return await pool.getconn()
        except PoolTimeout as exc:
            raise self._pool_error(exc) from exc
        finally:
            self._waiting -= 1

    async def _areturn(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]],
        aconn: psycopg.AsyncConnection[TupleRow],
    ) -> None:
        idle = aconn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        keep = not self._waiting and not self._closed and pool is self._apool
        if keep and idle and not aconn.broken:
            self._free.append((aconn, time.monotonic()))
            return
        with anyio.CancelScope(shield=True):
            await pool.putconn(aconn)

    # -- async API ---------------------------------------------------------------------

    async def asetup(self) -> None:
        """Connect, and create or migrate the tables (also done on first use)."""
        if running_on_asyncio():
            await self._async_pool()
        else:
            await anyio.to_thread.run_sync(self._sync_pool)

    async def aget_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        return await self._arun(functools.partial(_get_tuple, thread_id, ns, checkpoint_id))

    async def alist(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple]:
        check_limit(limit)
        return await self._arun(functools.partial(_list, thread_id, ns, before, limit))

    async def aput(
        self,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        *,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord] = (),
    ) -> None:
        data = encode_checkpoint(checkpoint)  # SerializationError before any I/O
        records = [(r.task_id, encode_task(r)) for r in parent_records]
        await self._arun(
            functools.partial(_put, thread_id, ns, checkpoint, data, expected_latest, records)
        )

    async def aput_task(
        self, thread_id: str, ns: str, checkpoint_id: str, record: TaskRecord
    ) -> None:
        data = encode_task(record)
        await self._arun(
            functools.partial(_put_task, thread_id, ns, checkpoint_id, record.task_id, data)
        )

    async def adelete_thread(self, thread_id: str) -> None:
        await self._arun(functools.partial(_delete_thread, thread_id), transaction=True)

    async def aclose(self) -> None:
        """Close both pools; the saver is unusable afterwards."""
        apool, self._apool = self._apool, None
        self._closed = True
        if apool is not None:
            free, self._free = self._free, []
            for aconn, _ in free:
                await apool.putconn(aconn)
            await apool.close()
        await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> Self:
        await self.asetup()
        return self

    # -- sync API ----------------------------------------------------------------------

    def setup(self) -> None:
        """Connect, and create or migrate the tables (also done on first use)."""
        self._sync_pool()

    def get_tuple(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        return self._run(functools.partial(_get_tuple, thread_id, ns, checkpoint_id))

    def list(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Sequence[CheckpointTuple]:
        check_limit(limit)
        return self._run(functools.partial(_list, thread_id, ns, before, limit))

    def put(
        self,
        thread_id: str,
        ns: str,
        checkpoint: Checkpoint,
        *,
        expected_latest: str | None,
        parent_records: Sequence[TaskRecord] = (),
    ) -> None:
        data = encode_checkpoint(checkpoint)  # SerializationError before any I/O
        records = [(r.task_id, encode_task(r)) for r in parent_records]
        self._run(
            functools.partial(_put, thread_id, ns, checkpoint, data, expected_latest, records)
        )

    def put_task(self, thread_id: str, ns: str, checkpoint_id: str, record: TaskRecord) -> None:
        data = encode_task(record)
        self._run(functools.partial(_put_task, thread_id, ns, checkpoint_id, record.task_id, data))

    def delete_thread(self, thread_id: str) -> None:
        self._run(functools.partial(_delete_thread, thread_id), transaction=True)

    def close(self) -> None:
        """Close the pools; prefer ``aclose()`` after using the async API.

        An async pool can only be closed on its event loop: ``close()`` does it when that
        loop is idle (not running, not closed); otherwise the pool's connections are
        closed when it is garbage-collected.
        """
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            apool, self._apool = self._apool, None
        if pool is not None:
            pool.close()
        loop = self._aloop
        idle = loop is not None and not loop.is_closed() and not loop.is_running()
        if apool is not None and loop is not None and idle:
            loop.run_until_complete(apool.close())

    def __enter__(self) -> Self:
        self.setup()
        return self
