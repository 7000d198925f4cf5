"""``SqliteSaver``: the embedded default checkpointer, on the standard library's sqlite3.

Guarantees:

- **Atomic writes.** Every ``put``/``put_task``/``delete_thread`` is one transaction.
  ``put(..., expected_latest=X)`` checks the thread's head pointer and writes in ONE
  statement, which takes the write lock before it reads (as ``BEGIN IMMEDIATE`` would),
  so of two writers that read the same head exactly one wins, also across processes
  sharing the file; the other gets CheckpointConflictError and nothing of its write is
  stored.
- **Durable against a crash of the process** (even SIGKILL): the database is in WAL mode
  with ``synchronous=NORMAL``, so a committed write survives the process. It is NOT
  durable against power loss or an OS crash: the last few commits may be rolled back
  then (the file stays consistent). That trade buys a commit without ``fsync``.
- **Nothing is changed on failure.** A value that cannot be serialized fails before the
  transaction starts; a corrupted row raises CorruptCheckpointError and is left as it
  is; a database written by a newer release raises SchemaVersionError before any change.

Concurrency: one connection (``check_same_thread=False``) guarded by a
``threading.Lock``, so the saver is safe to share between threads and tasks. The async
methods call SQLite directly on the event loop by default: one operation is a few short
statements that take microseconds (no ``fsync``), far less than a trip to a worker
thread, and an operation that never awaits cannot be interrupted halfway by a
cancellation. The loop does block while another thread holds the lock or while another
*process* holds the write lock (up to ``busy_timeout``); if several processes write to
the same file, pass ``async_in_thread=True`` to run the async methods in a worker thread
(``anyio.to_thread``) instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from ._base import (
    SCHEMA_VERSION,
    BaseCheckpointSaver,
    CheckpointError,
    CorruptCheckpointError,
    Inline,
    SchemaVersionError,
    Write,
    conflict_error,
    not_found_error,
)

__all__ = ("SqliteSaver",)

_P = ParamSpec("_P")
_T = TypeVar("_T")

# -- schema ------------------------------------------------------------------------------

# _MIGRATIONS[i] upgrades the tables from schema version i to i + 1; a version that only
# changed the encoded documents gets an empty tuple. All pending migrations run in one
# transaction, together with the update of the stored version.
#
# ``seq`` is the rowid: SQLite gives a new row max(rowid) + 1, so within a thread a newer
# checkpoint always has a larger seq than every older one still stored, which is all the
# newest-first order needs (AUTOINCREMENT would only add a write to sqlite_sequence per
# insert, to avoid reusing the ids of deleted rows). Task records are listed by rowid
# too: an upsert keeps the rowid, so a replaced record keeps its place.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE scopegraph_checkpoints (
            seq INTEGER PRIMARY KEY,
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            parent_id TEXT,
            step INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            data BLOB NOT NULL,
            UNIQUE (thread_id, ns, checkpoint_id)
        )
        """,
        "CREATE INDEX scopegraph_checkpoints_newest ON scopegraph_checkpoints (thread_id, ns, seq)",
        """
        CREATE TABLE scopegraph_checkpoint_tasks (
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (thread_id, ns, checkpoint_id, task_id)
        )
        """,
        """
        CREATE TABLE scopegraph_heads (
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            PRIMARY KEY (thread_id, ns)
        ) WITHOUT ROWID
        """,
        # The head follows every insert in the same statement: see _INSERT_IF_HEAD.
        """
        CREATE TRIGGER scopegraph_checkpoints_advance_head
        AFTER INSERT ON scopegraph_checkpoints
        BEGIN
            INSERT INTO scopegraph_heads (thread_id, ns, checkpoint_id)
            VALUES (NEW.thread_id, NEW.ns, NEW.checkpoint_id)
            ON CONFLICT (thread_id, ns) DO UPDATE SET checkpoint_id = excluded.checkpoint_id;
        END
        """,
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION, "add a migration when SCHEMA_VERSION changes"

_META_TABLE = "scopegraph_meta"
_CREATE_META = f"CREATE TABLE IF NOT EXISTS {_META_TABLE} (key TEXT PRIMARY KEY, value NOT NULL)"
_META_EXISTS = f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{_META_TABLE}'"
_SELECT_VERSION = f"SELECT value FROM {_META_TABLE} WHERE key = 'schema_version'"
_STORE_VERSION = (
    f"INSERT INTO {_META_TABLE} (key, value) VALUES ('schema_version', ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

# -- statements --------------------------------------------------------------------------

# One statement reads a checkpoint and its task records: one consistent snapshot without
# an explicit transaction. (A LEFT JOIN row with a NULL task_id: no task records.)
_SELECT_TUPLE = """
SELECT c.checkpoint_id, c.data, t.task_id, t.data
FROM (SELECT checkpoint_id, data FROM scopegraph_checkpoints
      WHERE thread_id = ?1 AND ns = ?2 AND {where}) AS c
LEFT JOIN scopegraph_checkpoint_tasks AS t
    ON t.thread_id = ?1 AND t.ns = ?2 AND t.checkpoint_id = c.checkpoint_id
ORDER BY t.rowid
"""
_SELECT_NEWEST = _SELECT_TUPLE.format(
    where="checkpoint_id = (SELECT checkpoint_id FROM scopegraph_heads"
    " WHERE thread_id = ?1 AND ns = ?2)"
)
_SELECT_BY_ID = _SELECT_TUPLE.format(where="checkpoint_id = ?3")
_SELECT_SEQ = """
SELECT seq FROM scopegraph_checkpoints WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?
"""
_SELECT_PAGE = """
SELECT checkpoint_id, data FROM scopegraph_checkpoints
WHERE thread_id = ? AND ns = ? AND seq < ? ORDER BY seq DESC LIMIT ?
"""
_SELECT_PAGE_TASKS = """
SELECT checkpoint_id, task_id, data FROM scopegraph_checkpoint_tasks
WHERE thread_id = ? AND ns = ? AND checkpoint_id IN (
    SELECT checkpoint_id FROM scopegraph_checkpoints
    WHERE thread_id = ? AND ns = ? AND seq < ? ORDER BY seq DESC LIMIT ?
) ORDER BY rowid
"""
_SELECT_HEAD = "SELECT checkpoint_id FROM scopegraph_heads WHERE thread_id = ? AND ns = ?"
# put() is this ONE statement: it inserts nothing unless the head is still the expected
# checkpoint (``IS`` also matches NULL: no head yet), and the trigger moves the head. A
# single statement is atomic and takes the write lock before it reads (like BEGIN
# IMMEDIATE), so no explicit transaction is needed: a commit costs two fewer round trips.
_INSERT_IF_HEAD = """
INSERT INTO scopegraph_checkpoints
    (thread_id, ns, checkpoint_id, parent_id, step, created_at, data)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
WHERE (SELECT checkpoint_id FROM scopegraph_heads WHERE thread_id = ?1 AND ns = ?2) IS ?8
"""
# put_task() likewise: nothing is stored unless the checkpoint exists. (The WHERE clause
# also keeps SQLite from reading ON CONFLICT as a join constraint.)
_UPSERT_TASK = """
INSERT INTO scopegraph_checkpoint_tasks (thread_id, ns, checkpoint_id, task_id, data)
SELECT ?1, ?2, ?3, ?4, ?5
WHERE EXISTS (SELECT 1 FROM scopegraph_checkpoints
              WHERE thread_id = ?1 AND ns = ?2 AND checkpoint_id = ?3)
ON CONFLICT (thread_id, ns, checkpoint_id, task_id) DO UPDATE SET data = excluded.data
"""
_DELETE_THREAD = (
    "DELETE FROM scopegraph_checkpoint_tasks WHERE thread_id = ?",
    "DELETE FROM scopegraph_checkpoints WHERE thread_id = ?",
    "DELETE FROM scopegraph_heads WHERE thread_id = ?",
)

_NO_SEQ_BOUND = 2**63 - 1
_Row = tuple[str, bytes, list[tuple[str, bytes]]]


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[None]:
    """``begin`` ... COMMIT, or ROLLBACK on any exception (which then propagates)."""
    conn.execute(begin)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the original error matters more
                conn.execute("ROLLBACK")
        raise


# -- operations: run with the lock held, return undecoded rows ---------------------------


def _read_version(conn: sqlite3.Connection) -> int:
    if conn.execute(_META_EXISTS).fetchone() is None:
        return 0
    row = conn.execute(_SELECT_VERSION).fetchone()
    if row is None:  # only inside _migrate(), between creating the table and filling it
        return 0
    if type(row[0]) is not int:
        raise CorruptCheckpointError(
            f"the table {_META_TABLE} holds no valid schema version ({row!r}); it was "
            "changed outside scopegraph. Restore the database from a backup"
        )
    return int(row[0])


def _newer_schema_error(version: int, target: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"the checkpoint database {target} was written by a newer scopegraph (schema "
        f"version {version}; this release supports up to {SCHEMA_VERSION}); upgrade "
        "scopegraph to use it. Nothing was changed"
    )


def _migrate(conn: sqlite3.Connection, target: str) -> None:
    with _transaction(conn, "BEGIN IMMEDIATE"):
        # Read again under the write lock: another process may have migrated meanwhile.
        conn.execute(_CREATE_META)
        current = _read_version(conn)
        if current > SCHEMA_VERSION:
            raise _newer_schema_error(current, target)
        for version in range(current, SCHEMA_VERSION):
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
        if current < SCHEMA_VERSION:
            conn.execute(_STORE_VERSION, (SCHEMA_VERSION,))


def _get_row(
    conn: sqlite3.Connection, thread_id: str, ns: str, checkpoint_id: str | None
) -> _Row | None:
    if checkpoint_id is None:
        rows = conn.execute(_SELECT_NEWEST, (thread_id, ns)).fetchall()
        if not rows:
            return None
    else:
        rows = conn.execute(_SELECT_BY_ID, (thread_id, ns, checkpoint_id)).fetchall()
        if not rows:
            raise not_found_error(thread_id, ns, checkpoint_id)
    tasks = [(task_id, data) for _, _, task_id, data in rows if task_id is not None]
    return rows[0][0], rows[0][1], tasks


def _list_rows(
    conn: sqlite3.Connection, thread_id: str, ns: str, before: str | None, limit: int | None
) -> list[_Row]:
    with _transaction(conn):
        bound = _NO_SEQ_BOUND
        if before is not None:
            found = conn.execute(_SELECT_SEQ, (thread_id, ns, before)).fetchone()
            if found is None:
                raise not_found_error(thread_id, ns, before)
            bound = found[0]
        page = (thread_id, ns, bound, -1 if limit is None else limit)
        rows = conn.execute(_SELECT_PAGE, page).fetchall()
        if not rows:
            return []
        tasks: dict[str, list[tuple[str, bytes]]] = {}
        for checkpoint_id, task_id, data in conn.execute(
            _SELECT_PAGE_TASKS, (thread_id, ns, *page)
        ):
            tasks.setdefault(checkpoint_id, []).append((task_id, data))
    return [(checkpoint_id, data, tasks.get(checkpoint_id, [])) for checkpoint_id, data in rows]


def _put(conn: sqlite3.Connection, write: Write) -> None:
    parent_id = write.checkpoint.parent_id
    if not write.records or parent_id is None:
        _insert_if_head(conn, write)
        return
    # The checkpoint and the records of the step before it, in one transaction.
    with _transaction(conn, "BEGIN IMMEDIATE"):
        _insert_if_head(conn, write)
        for task_id, record in write.records:
            conn.execute(_UPSERT_TASK, (write.thread_id, write.ns, parent_id, task_id, record))


def _insert_if_head(conn: sqlite3.Connection, write: Write) -> None:
    thread_id, ns, checkpoint = write.thread_id, write.ns, write.checkpoint
    row = (thread_id, ns, checkpoint.id, checkpoint.parent_id, checkpoint.step)
    try:
        inserted = conn.execute(
            _INSERT_IF_HEAD, (*row, checkpoint.created_at, write.data, write.expected_latest)
        ).rowcount
    except sqlite3.IntegrityError as exc:
        if exc.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":
            raise
        inserted = 0  # the id exists: conflict_error() says so when the head matched
    if inserted != 1:
        found = conn.execute(_SELECT_HEAD, (thread_id, ns)).fetchone()
        head = None if found is None else found[0]
        raise conflict_error(thread_id, ns, checkpoint, write.expected_latest, head)


def _put_task(
    conn: sqlite3.Connection, thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes
) -> None:
    # A record of a deleted (or never written) checkpoint would be stored for nothing.
    params = (thread_id, ns, checkpoint_id, task_id, data)
    if conn.execute(_UPSERT_TASK, params).rowcount != 1:
        raise not_found_error(thread_id, ns, checkpoint_id)


def _delete_thread(conn: sqlite3.Connection, thread_id: str) -> None:
    with _transaction(conn, "BEGIN IMMEDIATE"):
        for statement in _DELETE_THREAD:
            conn.execute(statement, (thread_id,))


def _setup(conn: sqlite3.Connection) -> None:
    """Opening the connection already created the schema."""


# -- the saver ---------------------------------------------------------------------------


class SqliteSaver(BaseCheckpointSaver):
    """Checkpoints in a SQLite file (or ``":memory:"``), with the standard library only.

    The file is opened, and its schema created or migrated, on first use. Use the saver
    directly, or as a (async) context manager that closes it::

        with SqliteSaver("state.db") as saver:
            graph = builder.compile(checkpointer=saver)
            graph.invoke(inputs, {"configurable": {"thread_id": "1"}})

    Args:
        path: The database file (created if missing; its directory must exist),
            ``":memory:"`` for a private in-memory database, or a ``file:`` URI.
        busy_timeout: Seconds to wait for another process's write lock before failing.
        async_in_thread: Run the SQLite calls of the async methods in a worker thread
            (``anyio.to_thread``) instead of directly on the event loop; see the module
            docstring. Worth it only when other processes write to the same file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        async_in_thread: bool = False,
    ) -> None:
        self._path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._async_in_thread = async_in_thread
        self.writes_inline = not async_in_thread
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Self:
        """The saver for ``conn_string`` (a path, ``":memory:"`` or a ``file:`` URI).

        For code written for LangGraph: ``with SqliteSaver.from_conn_string("x.db") as
        saver:`` works, because the saver is itself a context manager.
        """
        return cls(conn_string, **kwargs)

    @property
    def path(self) -> str:
        """The database path as given."""
        return self._path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

    # -- row I/O -----------------------------------------------------------------------

    def _prepare(self) -> Inline[None]:
        return self._op(_setup)

    def _read(self, thread_id: str, ns: str, checkpoint_id: str | None) -> Inline[_Row | None]:
        return self._op(_get_row, thread_id, ns, checkpoint_id)

    def _read_page(
        self, thread_id: str, ns: str, before: str | None, limit: int | None
    ) -> Inline[Sequence[_Row]]:
        return self._op(_list_rows, thread_id, ns, before, limit)

    def _write(self, write: Write) -> Inline[None]:
        return self._op(_put, write)

    def _write_task(
        self, thread_id: str, ns: str, checkpoint_id: str, task_id: str, data: bytes
    ) -> Inline[None]:
        return self._op(_put_task, thread_id, ns, checkpoint_id, task_id, data)

    def _delete(self, thread_id: str) -> Inline[None]:
        return self._op(_delete_thread, thread_id)

    def close(self) -> None:
        """Close the connection. Idempotent; the saver cannot be used afterwards."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    async def aclose(self) -> None:
        self.close()  # closing is quick: WAL mode has nothing to sync

    # -- internals ---------------------------------------------------------------------

    def _call(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Run ``operation`` on the connection under the lock; translate sqlite3 errors."""
        with self._lock:
            conn = self._conn if self._conn is not None else self._open()
            try:
                return operation(conn, *args, **kwargs)
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc

    def _op(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Inline[_T]:
        """``operation`` as a row call: on the event loop, or in a worker thread when the
        saver was made with ``async_in_thread``."""
        call = functools.partial(self._call, operation, *args, **kwargs)
        return Inline(call, in_thread=self._async_in_thread)

    def _is_file(self) -> bool:
        return self._path not in ("", ":memory:") and not self._path.startswith("file:")

    def _open(self) -> sqlite3.Connection:
        """Connect, check the schema version, set the pragmas and migrate. Lock held."""
        if self._closed:
            raise CheckpointError(
                f"{self!r} is closed; create a new saver to use the database again"
            )
        if self._is_file():
            self._check_path()
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,  # sets SQLite's busy_timeout
                isolation_level=None,  # transactions are explicit: see _transaction()
                check_same_thread=False,  # shared between threads under self._lock
                uri=self._path.startswith("file:"),
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        try:
            # Check the version before anything (even journal_mode) changes the file.
            version = _read_version(conn)
            if version > SCHEMA_VERSION:
                raise _newer_schema_error(version, repr(self._path))
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                _migrate(conn, repr(self._path))
        except sqlite3.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _check_path(self) -> None:
        path = pathlib.Path(self._path)
        directory = path.absolute().parent
        fix = "choose another path"
        if path.is_dir():
            raise CheckpointError(
                f"cannot open the checkpoint database {self._path!r}: it is a directory; "
                f"pass the path of a file in it, e.g. {str(path / 'checkpoints.db')!r}"
            )
        if not directory.is_dir():
            raise CheckpointError(
                f"cannot open the checkpoint database {self._path!r}: the directory "
                f"{str(directory)!r} does not exist; create it first "
                f"(os.makedirs({str(directory)!r}, exist_ok=True)) or {fix}"
            )
        # WAL mode creates the -wal and -shm files next to the database.
        if not os.access(directory, os.W_OK | os.X_OK):
            raise CheckpointError(
                f"cannot open the checkpoint database {self._path!r}: the directory "
                f"{str(directory)!r} is not writable by this process (SQLite creates the "
                f"database and its -wal file there); fix its permissions or {fix}"
            )
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise CheckpointError(
                f"cannot open the checkpoint database {self._path!r}: the file is not "
                f"readable and writable by this process; fix its permissions or {fix}"
            )

    def _translate(self, exc: sqlite3.Error) -> CheckpointError:
        """A scopegraph error for a sqlite3 error, naming the database and what to do."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        target = f"checkpoint database {self._path!r}"
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return CheckpointError(
                f"the {target} stayed locked by another connection for longer than "
                f"busy_timeout={self._busy_timeout}s ({exc}); another process is writing "
                "to it: retry, or pass a larger busy_timeout"
            )
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
            return CorruptCheckpointError(
                f"the {target} is not a valid SQLite database ({exc}); it was left as it "
                "is. Restore it from a backup or point the saver at another file"
            )
        if name.startswith("SQLITE_READONLY"):
            return CheckpointError(
                f"the {target} is read-only ({exc}); fix the permissions of the file and "
                "its directory"
            )
        if name.startswith("SQLITE_CANTOPEN"):
            return CheckpointError(
                f"cannot open the {target} ({exc}); check that its directory exists and is writable"
            )
        if name.startswith("SQLITE_FULL"):
            return CheckpointError(f"the {target} is full ({exc}); free some disk space")
        return CheckpointError(f"SQLite failed on the {target}: {exc} ({name or 'no code'})")
