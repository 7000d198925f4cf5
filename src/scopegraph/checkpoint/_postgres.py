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

Every row operation is a small generator that yields SQL statements and receives their
results (:data:`scopegraph._postgres.Op`); :class:`scopegraph._postgres.Database` runs
it on a sync connection or an async one, so its logic exists once for both APIs. The
pools, drivers, migrations and the mapping of psycopg's errors live in
:mod:`scopegraph._postgres`, shared with the run server's queue and store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

try:
    import psycopg
    from psycopg.rows import TupleRow
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("PostgresSaver needs psycopg: pip install 'scopegraph[postgres]'") from exc

from .._postgres import Database, ErrorKinds, Op, Schema
from ._base import (
    SCHEMA_VERSION,
    BaseCheckpointSaver,
    CheckpointError,
    Row,
    SchemaVersionError,
    Write,
    conflict_error,
    not_found_error,
)

__all__ = ("CheckpointConnectionError", "PostgresSaver")

_T = TypeVar("_T")


class CheckpointConnectionError(CheckpointError, ConnectionError):
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

assert len(_MIGRATIONS) == SCHEMA_VERSION, "add a migration when SCHEMA_VERSION changes"

_SCHEMA = Schema(
    what="the PostgreSQL checkpoint tables",
    version_table="scopegraph_schema_version",
    # Serializes migrations between processes: pg_advisory_xact_lock(key), held until commit.
    lock_key=int.from_bytes(b"sg-ckpt", "big"),
    migrations=_MIGRATIONS,
    error=SchemaVersionError,
)
_ERRORS = ErrorKinds(
    label="PostgresSaver", error=CheckpointError, connection_error=CheckpointConnectionError
)

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


# -- row operations: generators that yield statements and receive their results ---------


def _to_row(values: TupleRow) -> Row:
    checkpoint_id, data, task_ids, task_blobs = values
    tasks = [(task_id, bytes(blob)) for task_id, blob in zip(task_ids, task_blobs, strict=True)]
    return checkpoint_id, bytes(data), tasks


def _get_row(thread_id: str, ns: str, checkpoint_id: str | None) -> Op[Row | None]:
    params = {"thread_id": thread_id, "ns": ns, "checkpoint_id": checkpoint_id, "limit": 1}
    found = yield (_SELECT_NEWEST if checkpoint_id is None else _SELECT_BY_ID), params
    if found.rows:
        return _to_row(found.rows[0])
    if checkpoint_id is None:
        return None
    raise not_found_error(thread_id, ns, checkpoint_id)


def _list_rows(thread_id: str, ns: str, before: str | None, limit: int | None) -> Op[list[Row]]:
    params: dict[str, Any] = {"thread_id": thread_id, "ns": ns, "limit": limit}
    if before is None:
        found = yield _SELECT_NEWEST, params
    else:
        anchor = yield _SELECT_SEQ, {**params, "checkpoint_id": before}
        if not anchor.rows:
            raise not_found_error(thread_id, ns, before)
        found = yield _SELECT_NEWEST_BEFORE, {**params, "before_seq": anchor.rows[0][0]}
    return [_to_row(row) for row in found.rows]


def _put_params(write: Write) -> tuple[dict[str, Any], str]:
    """The statement's parameters, and the shape of its records part."""
    checkpoint = write.checkpoint
    params: dict[str, Any] = {
        "thread_id": write.thread_id,
        "ns": write.ns,
        "checkpoint_id": checkpoint.id,
        "expected": write.expected_latest,
        "parent_id": checkpoint.parent_id,
        "step": checkpoint.step,
        "created_at": checkpoint.created_at,
        "data": write.data,
    }
    records = write.records
    if not records or checkpoint.parent_id is None:
        return params, "none"
    if len(records) == 1:
        params["task_id"], params["task_data"] = records[0]
        return params, "one"
    params["task_ids"] = [task_id for task_id, _ in records]
    params["task_data"] = [record for _, record in records]
    return params, "many"


def _put(write: Write) -> Op[None]:
    """One statement (the checkpoint, the head, and the records of the step before it):
    a conflict stores nothing, and is told apart with one more read."""
    params, shape = _put_params(write)
    expected = write.expected_latest
    try:
        result = yield _PUT[expected is None, shape], params
    except psycopg.errors.UniqueViolation:  # the checkpoint id exists already
        head = yield _SELECT_HEAD, params
        actual = head.rows[0][0] if head.rows else None
        if actual != write.checkpoint.id:
            # conflict_error() says "already exists" when given the expected head
            raise _conflict(write, expected) from None
        return  # a retry after a broken connection: the first attempt did land
    if result.rowcount != 1:
        head = yield _SELECT_HEAD, params
        actual = head.rows[0][0] if head.rows else None
        if actual != write.checkpoint.id:
            raise _conflict(write, actual)
        # else a retry after a broken connection: the first attempt did land


def _conflict(write: Write, head: str | None) -> Exception:
    return conflict_error(write.thread_id, write.ns, write.checkpoint, write.expected_latest, head)


def _put_task(thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes) -> Op[None]:
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


def _delete_thread(thread_id: str) -> Op[None]:
    for statement in _DELETE_THREAD:
        yield statement, {"thread_id": thread_id}


# -- the saver ---------------------------------------------------------------------------


class _DbCall(Generic[_T]):
    """A row operation of the saver, run on the sync or the async pool."""

    __slots__ = ("_db", "_make_op", "_transaction")

    def __init__(
        self, db: Database, make_op: Callable[[], Op[_T]], transaction: bool = False
    ) -> None:
        self._db = db
        self._make_op = make_op
        self._transaction = transaction

    def run(self) -> _T:
        return self._db.run(self._make_op, transaction=self._transaction)

    async def arun(self) -> _T:
        return await self._db.arun(self._make_op, transaction=self._transaction)


class _Setup:
    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    def run(self) -> None:
        self._db.pool()

    async def arun(self) -> None:
        await self._db.setup()


class PostgresSaver(BaseCheckpointSaver):
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

    # Every operation may be run twice: once more, on a fresh connection, when the first
    # connection turns out to be broken (e.g. the server restarted while it sat in the
    # pool). Reads and upserts are idempotent; a put whose first attempt did land is
    # recognised by _put (the head is already the checkpoint).

    def __init__(
        self,
        conninfo: str,
        *,
        pool_size: int = 10,
        connect_timeout: int = 5,
        pool_timeout: float = 30.0,
        reconnect_timeout: float = 60.0,
    ) -> None:
        self._db = Database(
            conninfo,
            schema=_SCHEMA,
            errors=_ERRORS,
            application_name="scopegraph",
            pool_name="scopegraph-checkpoint",
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            reconnect_timeout=reconnect_timeout,
        )

    @classmethod
    def from_conn_string(cls, conninfo: str, **kwargs: Any) -> Self:
        """The saver for ``conninfo``; use it as ``with`` or ``async with`` to close it."""
        return cls(conninfo, **kwargs)

    def __repr__(self) -> str:
        return f"<PostgresSaver {self._db.target()}>"

    # -- row I/O -----------------------------------------------------------------------

    def _prepare(self) -> _Setup:
        return _Setup(self._db)

    def _read(self, thread_id: str, ns: str, checkpoint_id: str | None) -> _DbCall[Row | None]:
        return _DbCall(self._db, functools.partial(_get_row, thread_id, ns, checkpoint_id))

    def _read_page(
        self, thread_id: str, ns: str, before: str | None, limit: int | None
    ) -> _DbCall[list[Row]]:
        return _DbCall(self._db, functools.partial(_list_rows, thread_id, ns, before, limit))

    def _write(self, write: Write) -> _DbCall[None]:
        return _DbCall(self._db, functools.partial(_put, write))

    def _write_task(
        self, thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes
    ) -> _DbCall[None]:
        args = (thread_id, ns, checkpoint_id, task_id, data)
        return _DbCall(self._db, functools.partial(_put_task, *args))

    def _delete(self, thread_id: str) -> _DbCall[None]:
        return _DbCall(self._db, functools.partial(_delete_thread, thread_id), transaction=True)

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the pools; prefer ``aclose()`` after using the async API.

        An async pool can only be closed on its event loop: ``close()`` does it when that
        loop is idle (not running, not closed); otherwise the pool's connections are
        closed when it is garbage-collected.
        """
        self._db.close()

    async def aclose(self) -> None:
        """Close both pools; the saver is unusable afterwards."""
        await self._db.aclose()
