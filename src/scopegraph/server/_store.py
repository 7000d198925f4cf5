"""Where the server keeps its threads and runs (the checkpoints live in the checkpointer).

:class:`Documents` keeps every thread and run as a JSON document in one table,
``scopegraph_server_documents``, in the same database as the checkpoints: a SQLite file or
PostgreSQL (without a database, a SQLite database in memory). The table is the source of
truth: each read is a query (one document by key, or one page of threads or of a thread's
runs, newest first, with the metadata and status filters, the limit and the offset applied
in SQL), and nothing is held in memory here, so the server's memory does not grow with
the number of threads and runs it has stored (the run manager keeps only the runs that
are live). Threads and finished runs survive a restart; runs a crashed process left
``pending`` or ``running`` are marked ``error`` on start (their checkpoints are intact,
and ``runs.create`` with ``input=None`` resumes the thread), but the delayed runs
(``after_seconds``) that had not started: those are made again
(:mod:`scopegraph.server.local._delayed`).

The database calls are synchronous: SQLite's (one WAL row, ``synchronous=NORMAL``) run on
the event loop, as ``SqliteSaver``'s do; PostgreSQL's run in worker threads
(``anyio.to_thread``) on the pooled connections of :class:`scopegraph._postgres.Database`,
which are checked and replaced, so the store recovers after its connections drop (a
server restart, ``pg_terminate_backend``, a network blip). Either way the store works
the same under asyncio and trio. A failed write raises :class:`StoreError`
(:class:`StoreConnectionError` while PostgreSQL cannot be reached, within the pool's
timeout: never a hang), and nothing of it is kept. Stateless runs (``/runs/...``) are not
stored: the run manager knows them while they can be joined.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import anyio.to_thread
import orjson

from .. import ScopegraphError
from ._wire import dumps

if TYPE_CHECKING:
    from .._postgres import Op

__all__ = (
    "DELAYED_RUNS",
    "AnyOf",
    "Dialect",
    "Documents",
    "Kind",
    "PAGE_ORDERS",
    "Page",
    "Rows",
    "SqlOp",
    "StoreConnectionError",
    "StoreError",
    "MetadataFilter",
    "json_contains",
    "metadata_condition",
    "one_page",
    "open_backend",
)

Kind = Literal["thread", "run"]
_T = TypeVar("_T")
_Change = Callable[[dict[str, Any]], dict[str, Any]]
"""A change of one document: the stored document in, the document to store out."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rows:
    """What a statement of a :data:`SqlOp` returned (PostgreSQL's driver sends its own
    result, with the same two attributes)."""

    rows: list[Any]
    rowcount: int


SqlOp = Generator[tuple[str, Any], Any, _T]
"""An operation on the server's tables: a generator that yields ``(statement, params)``
and receives each statement's result (``.rows``, ``.rowcount``), run on SQLite or on
PostgreSQL alike (:meth:`Documents.op`); its statements are written for the backend's
:class:`Dialect`."""


@dataclasses.dataclass(frozen=True, slots=True)
class Dialect:
    """How a statement of a :data:`SqlOp` is written for SQLite or PostgreSQL."""

    m: str
    """The placeholder of a parameter."""
    json: str
    """A JSON parameter (its value: JSON text)."""
    contains: str
    """``{col}`` (a JSON column) contains every key and value of a JSON parameter."""
    substring: str
    """``{col}`` contains a text parameter, case-insensitively."""
    blob: str
    """The column type of a document."""
    json_type: str
    """The column type of a JSON value."""
    shared: bool
    """Several processes use the tables (PostgreSQL): an operation that only one of them
    should do at a time takes an advisory lock."""


SQLITE = Dialect(
    m="?",
    json="?",
    contains="sg_metadata_matches({col}, ?)",
    substring="instr(lower({col}), lower(?)) > 0",
    blob="BLOB",
    json_type="TEXT",
    shared=False,
)
POSTGRES = Dialect(
    m="%s",
    json="%s::jsonb",
    contains="{col} @> %s::jsonb",
    substring="strpos(lower({col}), lower(%s)) > 0",
    blob="BYTEA",
    json_type="JSONB",
    shared=True,
)

ASSISTANTS = "scopegraph_server_assistants"
ASSISTANT_VERSIONS = "scopegraph_server_assistant_versions"
THREAD_TTL = "scopegraph_server_thread_ttl"
CRONS = "scopegraph_server_crons"
DELAYED_RUNS = "scopegraph_server_delayed_runs"


def _delayed_runs_table(d: Dialect) -> tuple[str, ...]:
    """The single-process server's runs created with ``after_seconds`` that have not
    started: when each starts and how to make it again after a restart
    (:mod:`scopegraph.server.local._delayed`)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {DELAYED_RUNS} (run_id TEXT PRIMARY KEY, "
        f"starts_at TEXT NOT NULL, spec {d.blob} NOT NULL)",
    )


_TTL_MINUTES = "ttl_minutes"
"""The TTL table's column of the minutes a TTL was set for (what ``include=ttl`` shows;
added after the table: ALTERed into an earlier one)."""


def _resource_tables(d: Dialect) -> tuple[str, ...]:
    """The assistants (their latest version's document, and what searches filter and
    sort on) and every version of each (:mod:`scopegraph.server._assistants`); when
    threads expire (:mod:`scopegraph.server._ttl`); crons (:mod:`scopegraph.server._crons`)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {CRONS} (cron_id TEXT PRIMARY KEY, "
        "assistant_id TEXT NOT NULL, thread_id TEXT, enabled INTEGER NOT NULL, "
        f"next_run_date TEXT, end_time TEXT, metadata {d.json_type} NOT NULL, "
        f"created_at TEXT NOT NULL, updated_at TEXT NOT NULL, body {d.blob} NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {CRONS}_due ON {CRONS} (next_run_date)",
        f"CREATE TABLE IF NOT EXISTS {THREAD_TTL} (thread_id TEXT PRIMARY KEY, "
        "strategy TEXT NOT NULL, expires_at TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {THREAD_TTL}_due ON {THREAD_TTL} (expires_at)",
        f"CREATE TABLE IF NOT EXISTS {ASSISTANTS} (assistant_id TEXT PRIMARY KEY, "
        f"graph_id TEXT NOT NULL, name TEXT NOT NULL, metadata {d.json_type} NOT NULL, "
        "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL, "
        f"body {d.blob} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {ASSISTANT_VERSIONS} (assistant_id TEXT NOT NULL, "
        f"version INTEGER NOT NULL, metadata {d.json_type} NOT NULL, body {d.blob} NOT NULL, "
        "PRIMARY KEY (assistant_id, version))",
        f"CREATE INDEX IF NOT EXISTS {ASSISTANTS}_graph ON {ASSISTANTS} (graph_id, created_at)",
    )


class StoreError(ScopegraphError):
    """The server's thread/run store failed to read or write; nothing of the change was
    kept. The message names the database and the reason."""


class StoreConnectionError(StoreError, ConnectionError):
    """The store's PostgreSQL server cannot be reached (down, restarting, unreachable);
    the store reconnects by itself once it is back."""


class _Backend(Protocol):
    inline: bool

    def crashed(self) -> list[tuple[Kind, dict[str, Any]]]: ...
    def get(self, kind: Kind, doc_id: str) -> dict[str, Any] | None: ...
    def page(self, query: Page) -> list[dict[str, Any]]: ...
    def put(self, kind: Kind, doc: dict[str, Any]) -> None: ...
    def insert(self, kind: Kind, doc: dict[str, Any]) -> bool: ...
    def update(self, kind: Kind, doc_id: str, change: _Change) -> dict[str, Any] | None: ...
    def delete(self, kind: Kind, doc_id: str) -> None: ...
    def delete_runs(self, thread_id: str) -> None: ...
    def probe(self) -> None: ...
    def close(self) -> None: ...

    dialect: Dialect

    def run(self, make_op: Callable[[], SqlOp[_T]], *, transaction: bool = False) -> _T:
        """Run an operation (a generator of statements, see :data:`SqlOp`)."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class AnyOf:
    """A metadata filter that a record meets when its metadata contains any one of
    ``alternatives`` (two or more): custom auth's ``$or``, after
    :func:`scopegraph.server._auth.compile_filter`."""

    alternatives: tuple[dict[str, Any], ...]


MetadataFilter = dict[str, Any] | AnyOf
"""A search's metadata filter: the metadata contains this object (PostgreSQL's ``@>``),
or any one of an :class:`AnyOf`'s."""


def metadata_condition(
    contains: str, metadata: MetadataFilter | None
) -> tuple[str, list[str]] | None:
    """The SQL condition of a metadata filter and its parameters (JSON texts), or None
    (no filter). ``contains``: the dialect's containment test, with one placeholder."""
    if isinstance(metadata, AnyOf):
        tests = " OR ".join([contains] * len(metadata.alternatives))
        return f"({tests})", [dumps(wanted).decode() for wanted in metadata.alternatives]
    if not metadata:
        return None
    return contains, [dumps(metadata).decode()]


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of documents, newest first: the threads (``thread_id`` None) or the runs
    of a thread, whose ``metadata`` contains ``metadata``, whose status is ``status`` and
    whose id is among ``ids`` (None: any); threads may be ordered by another of
    :data:`PAGE_ORDERS` (``sort_by``) and oldest first (``descending`` False)."""

    kind: Kind
    thread_id: str | None
    metadata: MetadataFilter | None
    status: str | None
    limit: int
    offset: int
    ids: tuple[str, ...] | None = None
    sort_by: str = "created_at"
    descending: bool = True


PAGE_ORDERS = frozenset({"created_at", "thread_id", "status", "updated_at"})
"""What a page of documents can be ordered by in SQL (``updated_at`` is read from the
document: it has no column)."""


_TABLE = "scopegraph_server_documents"
_CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (kind TEXT NOT NULL, id TEXT NOT NULL, "
    "thread_id TEXT, body {blob} NOT NULL, PRIMARY KEY (kind, id))"
)
# What the queries filter and order by, next to the document: the store pages in SQL.
_COLUMNS = (("created_at", "TEXT"), ("status", "TEXT"), ("metadata", "{json}"))
_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_newest ON {_TABLE} (kind, created_at)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_thread ON {_TABLE} (thread_id, kind, created_at)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_status ON {_TABLE} (kind, status)",
)
_PUT = (
    f"INSERT INTO {_TABLE} (kind, id, thread_id, body, created_at, status, metadata) "
    "VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (kind, id) DO UPDATE SET "
    "body = excluded.body, created_at = excluded.created_at, status = excluded.status, "
    "metadata = excluded.metadata"
)
_GET = f"SELECT body FROM {_TABLE} WHERE kind = {{m}} AND id = {{m}}"
_INSERT = (
    f"INSERT INTO {_TABLE} (kind, id, thread_id, body, created_at, status, metadata) "
    "VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (kind, id) DO NOTHING"
)
_DELETE = f"DELETE FROM {_TABLE} WHERE kind = {{m}} AND id = {{m}}"
_DELETE_RUNS = f"DELETE FROM {_TABLE} WHERE kind = 'run' AND thread_id = {{m}}"
_PROBE = (
    f"INSERT INTO {_TABLE} (kind, id, body) VALUES ('probe', 'probe', {{m}}) "
    "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body"
)
"""The row a health check writes (``GET /ok``): a write, because a full disk still reads.
Its kind is neither ``thread`` nor ``run``: no query but this one sees it."""
# The documents a crashed process left pending, running or busy (few: its live runs).
_CRASHED = (
    f"SELECT kind, body FROM {_TABLE} WHERE (kind = 'run' AND status IN ('pending', "
    "'running')) OR (kind = 'thread' AND status = 'busy')"
)


def _row_values(kind: Kind, doc: dict[str, Any]) -> tuple[Any, ...]:
    """The row of a document: (kind, id, thread_id, body, created_at, status, metadata)."""
    doc_id = doc["thread_id"] if kind == "thread" else doc["run_id"]
    metadata = dumps(doc.get("metadata") or {}).decode()
    return (
        kind,
        doc_id,
        doc.get("thread_id"),
        dumps(doc),
        doc.get("created_at"),
        doc.get("status"),
        metadata,
    )


def _page_query(query: Page, m: str, matches: str, updated: str) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters of a page (``m``: the placeholder; ``matches``: the
    metadata filter, with one placeholder for the wanted metadata as JSON text;
    ``updated``: the document's ``updated_at``)."""
    where: list[str] = [f"kind = {m}"]
    params: list[Any] = [query.kind]
    for condition, value in (
        (f"thread_id = {m}", query.thread_id),
        (f"status = {m}", query.status),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    wanted = metadata_condition(matches, query.metadata)
    if wanted is not None:
        where.append(wanted[0])
        params.extend(wanted[1])
    if query.ids is not None:
        where.append(f"id IN ({', '.join([m] * len(query.ids))})" if query.ids else "1 = 0")
        params.extend(query.ids)
    if query.sort_by not in PAGE_ORDERS:
        raise ValueError(f"a page cannot be ordered by {query.sort_by!r}")
    column = {"thread_id": "id", "updated_at": updated}.get(query.sort_by, query.sort_by)
    order = "DESC" if query.descending else "ASC"
    statement = (
        f"SELECT body FROM {_TABLE} WHERE {' AND '.join(where)} "
        f"ORDER BY {column} {order}, id {order} LIMIT {m} OFFSET {m}"
    )
    return statement, (*params, query.limit, query.offset)


def one_page(
    rows: list[dict[str, Any]], limit: int, offset: int, select: list[str] | None
) -> tuple[list[dict[str, Any]], int | None]:
    """A page read with ``LIMIT limit + 1``: its first ``limit`` rows (with only the
    ``select`` fields, if given) and the next page's offset (None: this is the last)."""
    following = offset + limit if len(rows) > limit else None
    rows = rows[:limit]
    if select:
        rows = [{k: v for k, v in row.items() if k in select} for row in rows]
    return rows, following


def _metadata_matches(metadata: str | None, wanted: str) -> bool:
    """SQLite's filter: ``metadata`` contains ``wanted`` as PostgreSQL's ``jsonb @>``
    decides (the PostgreSQL store's and LangGraph's server's filter), so that a search
    finds the same threads on either database."""
    return json_contains(orjson.loads(metadata) if metadata else {}, orjson.loads(wanted))


def json_contains(have: Any, want: Any) -> bool:
    """PostgreSQL's JSON containment: an object contains the keys it is given, each
    value containing the one wanted (recursively); an array contains an array whose every
    element some element of it contains (order and repeats do not matter); any other
    value only an equal value of the same JSON type (``true`` is not ``1``)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and json_contains(have[k], v) for k, v in want.items()
        )
    if isinstance(want, list):
        return isinstance(have, list) and all(any(json_contains(h, w) for h in have) for w in want)
    if isinstance(have, (dict, list)) or isinstance(have, bool) != isinstance(want, bool):
        return False
    return bool(have == want)


class _Sqlite:
    """The tables in a SQLite file (``":memory:"``: in memory only), on one connection
    guarded by a lock."""

    inline = True  # a WAL write of one row: done on the event loop, as SqliteSaver does
    dialect = SQLITE

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._put = _PUT.format(m="?")
        self._get = _GET.format(m="?")
        self._delete = _DELETE.format(m="?")
        with _translate_sqlite(self._path):
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.create_function("sg_metadata_matches", 2, _metadata_matches, deterministic=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            _sqlite_schema(conn)
        self._conn = conn

    def _all(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        with self._lock, _translate_sqlite(self._path):
            return self._conn.execute(statement, params).fetchall()

    def crashed(self) -> list[tuple[Kind, dict[str, Any]]]:
        return [(kind, orjson.loads(body)) for kind, body in self._all(_CRASHED, ())]

    def get(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        rows = self._all(self._get, (kind, doc_id))
        return orjson.loads(rows[0][0]) if rows else None

    def page(self, query: Page) -> list[dict[str, Any]]:
        statement, params = _page_query(
            query,
            "?",
            "sg_metadata_matches(metadata, ?)",
            "json_extract(CAST(body AS TEXT), '$.updated_at')",
        )
        return [orjson.loads(body) for (body,) in self._all(statement, params)]

    def put(self, kind: Kind, doc: dict[str, Any]) -> None:
        self._all(self._put, _row_values(kind, doc))

    def insert(self, kind: Kind, doc: dict[str, Any]) -> bool:
        with self._lock, _translate_sqlite(self._path):
            return self._conn.execute(_INSERT.format(m="?"), _row_values(kind, doc)).rowcount == 1

    def update(self, kind: Kind, doc_id: str, change: _Change) -> dict[str, Any] | None:
        # One connection behind one lock: nothing writes between the read and the write.
        with self._lock, _translate_sqlite(self._path):
            rows = self._conn.execute(self._get, (kind, doc_id)).fetchall()
            if not rows:
                return None
            doc = change(orjson.loads(rows[0][0]))
            self._conn.execute(self._put, _row_values(kind, doc))
            return doc

    def delete(self, kind: Kind, doc_id: str) -> None:
        self._all(self._delete, (kind, doc_id))

    def delete_runs(self, thread_id: str) -> None:
        self._all(_DELETE_RUNS.format(m="?"), (thread_id,))

    def probe(self) -> None:
        self._all(_PROBE.format(m="?"), (b"{}",))

    def run(self, make_op: Callable[[], SqlOp[_T]], *, transaction: bool = False) -> _T:
        with self._lock, _translate_sqlite(self._path):
            conn = self._conn
            op = make_op()
            if transaction:
                conn.execute("BEGIN IMMEDIATE")
            try:
                statement, params = next(op)
                while True:
                    cursor = conn.execute(statement, params or ())
                    result = Rows(cursor.fetchall(), cursor.rowcount)
                    statement, params = op.send(result)
            except StopIteration as stop:
                if transaction:
                    conn.execute("COMMIT")
                return stop.value  # type: ignore[no-any-return]
            except BaseException:
                if transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sqlite_schema(conn: sqlite3.Connection) -> None:
    """The table, and the columns and indexes that an earlier release's table lacks
    (filled from the documents)."""
    conn.execute(_CREATE_TABLE.format(blob="BLOB"))
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({_TABLE})")}
    missing = [(name, kind) for name, kind in _COLUMNS if name not in have]
    if missing:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name, kind in missing:
                conn.execute(f"ALTER TABLE {_TABLE} ADD COLUMN {name} {kind.format(json='TEXT')}")
            conn.execute(
                f"UPDATE {_TABLE} SET "
                "created_at = json_extract(CAST(body AS TEXT), '$.created_at'), "
                "status = json_extract(CAST(body AS TEXT), '$.status'), "
                "metadata = json_extract(CAST(body AS TEXT), '$.metadata')"
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    for statement in (*_INDEXES, *_resource_tables(SQLITE), *_delayed_runs_table(SQLITE)):
        conn.execute(statement)
    if _TTL_MINUTES not in {row[1] for row in conn.execute(f"PRAGMA table_info({THREAD_TTL})")}:
        conn.execute(f"ALTER TABLE {THREAD_TTL} ADD COLUMN {_TTL_MINUTES} REAL")


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


_PG_MIGRATIONS = (
    # Version 1 adopts the table that releases without versions created.
    (_CREATE_TABLE.format(blob="BYTEA"),),
    # Version 2: the columns the queries page on, filled from the documents.
    (
        f"ALTER TABLE {_TABLE} "
        + ", ".join(f"ADD COLUMN {n} {k.format(json='JSONB')}" for n, k in _COLUMNS),
        f"UPDATE {_TABLE} SET created_at = convert_from(body, 'UTF8')::jsonb->>'created_at', "
        "status = convert_from(body, 'UTF8')::jsonb->>'status', "
        "metadata = convert_from(body, 'UTF8')::jsonb->'metadata'",
        *_INDEXES,
    ),
    # Version 3: assistants and their versions, threads' TTLs, crons.
    _resource_tables(POSTGRES),
    # Version 4: the runs waiting for their after_seconds; the minutes of a thread's TTL.
    (
        *_delayed_runs_table(POSTGRES),
        f"ALTER TABLE {THREAD_TTL} ADD COLUMN IF NOT EXISTS {_TTL_MINUTES} DOUBLE PRECISION",
    ),
)


class _Postgres:
    """One table in PostgreSQL, on the pooled connections of ``scopegraph._postgres``."""

    inline = False  # a network round trip: done in a worker thread
    dialect = POSTGRES

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
            migrations=_PG_MIGRATIONS,
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

    def _rows(self, statement: str, *params: Any) -> list[Any]:
        return self._db.run(functools.partial(_pg_rows, statement, params))

    def crashed(self) -> list[tuple[Kind, dict[str, Any]]]:
        return [(kind, orjson.loads(body)) for kind, body in self._rows(_CRASHED)]

    def get(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        rows = self._rows(_GET_PG, kind, doc_id)
        return orjson.loads(rows[0][0]) if rows else None

    def page(self, query: Page) -> list[dict[str, Any]]:
        statement, params = _page_query(
            query,
            "%s",
            "metadata @> %s::jsonb",
            "convert_from(body, 'UTF8')::jsonb->>'updated_at'",
        )
        return [orjson.loads(body) for (body,) in self._rows(statement, *params)]

    def put(self, kind: Kind, doc: dict[str, Any]) -> None:
        self._rows(_PUT_PG, *_row_values(kind, doc))

    def insert(self, kind: Kind, doc: dict[str, Any]) -> bool:
        return self._db.run(functools.partial(_pg_insert, _row_values(kind, doc)))

    def update(self, kind: Kind, doc_id: str, change: _Change) -> dict[str, Any] | None:
        # In one transaction, the row locked from the read to the write: a concurrent
        # update (a PATCH and a run's end on the same thread) waits, so neither is lost.
        return self._db.run(functools.partial(_pg_update, kind, doc_id, change), transaction=True)

    def delete(self, kind: Kind, doc_id: str) -> None:
        self._rows(_DELETE_PG, kind, doc_id)

    def delete_runs(self, thread_id: str) -> None:
        self._rows(_DELETE_RUNS.format(m="%s"), thread_id)

    def probe(self) -> None:
        self._rows(_PROBE.format(m="%s"), b"{}")

    def run(self, make_op: Callable[[], SqlOp[_T]], *, transaction: bool = False) -> _T:
        return self._db.run(make_op, transaction=transaction)

    def close(self) -> None:
        self._db.close()


_PUT_PG = _PUT.format(m="%s").replace("%s)", "%s::jsonb)", 1)  # metadata: the last value
_GET_PG = _GET.format(m="%s")
_INSERT_PG = _INSERT.format(m="%s").replace("%s)", "%s::jsonb)", 1)
_DELETE_PG = _DELETE.format(m="%s")


def _pg_rows(statement: str, params: tuple[Any, ...]) -> Op[list[Any]]:
    # Reads, and upserts and deletes by key: safe to repeat on a fresh connection.
    found = yield statement, params or None
    return found.rows


def _pg_insert(row: tuple[Any, ...]) -> Op[bool]:
    # Repeated only when the connection broke (Database.run): if the first attempt's row
    # was written, the second says "not inserted", as for any existing document.
    done = yield _INSERT_PG, row
    return done.rowcount == 1


def _pg_update(kind: Kind, doc_id: str, change: _Change) -> Op[dict[str, Any] | None]:
    found = yield _GET_PG + " FOR UPDATE", (kind, doc_id)
    if not found.rows:
        return None
    doc = change(orjson.loads(found.rows[0][0]))
    yield _PUT_PG, _row_values(kind, doc)
    return doc


def open_backend(target: str | None) -> _Backend:
    """``None``: memory only; a ``postgresql://`` URL; otherwise a SQLite file path."""
    if target is None:
        return _Sqlite(":memory:")
    if target.startswith(("postgresql://", "postgres://")):
        return _Postgres(target)
    return _Sqlite(target)


class Documents:
    """Threads and runs, in the database: every read is a query (a page, in SQL), and
    nothing of them is held in memory here, except what :meth:`keep` keeps while the
    database takes no writes."""

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend
        self._unsaved: dict[tuple[Kind, str], dict[str, Any]] = {}
        """Documents whose write failed but that must be shown (see :meth:`keep`)."""
        self.observe: Callable[[str, float], None] | None = None
        """Told ``(operation, seconds)`` of each database call (the server's metrics)."""

    def load(self, waiting: Collection[str] = ()) -> None:
        """Mark what a crashed process left ``pending``/``running``/``busy`` as ``error``,
        but the runs ``waiting`` (delayed runs made again after the restart)."""
        for kind, doc in self._backend.crashed():
            if kind == "run" and doc.get("run_id") in waiting:
                continue
            doc["status"] = "error"  # its process is gone
            self._backend.put(kind, doc)

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        observe = self.observe
        if observe is None:
            if self._backend.inline:
                return fn(*args)
            return await anyio.to_thread.run_sync(fn, *args)
        start = time.perf_counter()
        try:
            if self._backend.inline:
                return fn(*args)
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            observe(fn.__name__, time.perf_counter() - start)

    async def get(self, kind: Kind, doc_id: str) -> dict[str, Any] | None:
        """The stored document (or the one :meth:`keep` keeps), or None."""
        kept = self._unsaved.get((kind, doc_id))
        if kept is not None:
            return kept
        return await self._call(self._backend.get, kind, doc_id)

    async def threads(
        self,
        metadata: MetadataFilter | None,
        status: str | None,
        limit: int,
        offset: int,
        *,
        ids: tuple[str, ...] | None = None,
        sort_by: str = "created_at",
        descending: bool = True,
    ) -> list[dict[str, Any]]:
        """A page of threads, newest first (or as ``sort_by``/``descending`` say)."""
        query = Page("thread", None, metadata, status, limit, offset, ids, sort_by, descending)
        return await self._call(self._backend.page, query)

    async def count_threads(
        self,
        metadata: MetadataFilter | None,
        status: str | None,
        ids: tuple[str, ...] | None = None,
    ) -> int:
        """How many threads have this metadata (contained in theirs), status and id."""
        where = ["kind = 'thread'"]
        params: list[Any] = []
        d = self.dialect
        if status is not None:
            where.append(f"status = {d.m}")
            params.append(status)
        wanted = metadata_condition(d.contains.format(col="metadata"), metadata)
        if wanted is not None:
            where.append(wanted[0])
            params.extend(wanted[1])
        if ids is not None:
            where.append(f"id IN ({', '.join([d.m] * len(ids))})" if ids else "1 = 0")
            params.extend(ids)
        statement = f"SELECT count(*) FROM {_TABLE} WHERE {' AND '.join(where)}"

        def op() -> SqlOp[int]:
            found = yield statement, tuple(params)
            return int(found.rows[0][0])

        return await self.op(op)

    async def runs(
        self, thread_id: str, status: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """A page of the thread's runs, newest first."""
        return await self._call(
            self._backend.page, Page("run", thread_id, None, status, limit, offset)
        )

    async def save(self, kind: Kind, doc: dict[str, Any]) -> None:
        """Store ``doc`` (StoreError: nothing was stored)."""
        await self._write(kind, doc)
        if self._unsaved:  # the database takes writes again
            with contextlib.suppress(StoreError):
                await self._save_kept()

    async def _write(self, kind: Kind, doc: dict[str, Any]) -> None:
        await self._call(self._backend.put, kind, doc)
        self._unsaved.pop((kind, _doc_id(kind, doc)), None)

    async def insert(self, kind: Kind, doc: dict[str, Any]) -> bool:
        """Store ``doc`` unless a document with its id exists (False: nothing written).
        Two concurrent inserts of one id: exactly one wins."""
        return await self._call(self._backend.insert, kind, doc)

    async def update(self, kind: Kind, doc_id: str, change: _Change) -> dict[str, Any] | None:
        """Store ``change(document)`` in place of the document, atomically: no other
        update of it comes between the read and the write, so concurrent changes of one
        document (a PATCH of a thread's metadata and its run's end) are all kept. None:
        there is no such document (``change`` is not called). A document :meth:`keep`
        keeps is changed and stored as a whole (the database took no writes)."""
        kept = self._unsaved.get((kind, doc_id))
        if kept is not None:
            doc = change(kept)
            await self.save(kind, doc)
            return doc
        return await self._call(self._backend.update, kind, doc_id, change)

    def keep(self, kind: Kind, doc: dict[str, Any]) -> None:
        """Keep ``doc`` although :meth:`save` failed: :meth:`get` returns it, and it is
        stored once the database takes writes again (with the next write or
        :meth:`check`). For what has already happened and must be shown (a run that
        ended), never for a request's change."""
        self._unsaved[(kind, _doc_id(kind, doc))] = doc

    async def _save_kept(self) -> None:
        for (kind, _), doc in list(self._unsaved.items()):
            await self._write(kind, doc)

    async def check(self) -> None:
        """Write to the database (StoreError if it takes no writes: a full disk, a lost
        server), then store what :meth:`keep` kept."""
        await self._call(self._backend.probe)
        await self._save_kept()

    async def delete(self, kind: Kind, doc_id: str) -> None:
        """Delete the document."""
        await self._call(self._backend.delete, kind, doc_id)
        self._unsaved.pop((kind, doc_id), None)

    async def delete_runs(self, thread_id: str) -> None:
        """Delete every run of the thread."""
        await self._call(self._backend.delete_runs, thread_id)
        for key, doc in list(self._unsaved.items()):
            if key[0] == "run" and doc.get("thread_id") == thread_id:
                del self._unsaved[key]

    @property
    def dialect(self) -> Dialect:
        """How the store's statements are written (:meth:`op`)."""
        return self._backend.dialect

    async def op(self, make_op: Callable[[], SqlOp[_T]], *, transaction: bool = False) -> _T:
        """Run an operation on the store's tables (StoreError: it failed, and with
        ``transaction`` nothing of it was kept)."""
        if self._backend.inline:
            return self._backend.run(make_op, transaction=transaction)
        return await anyio.to_thread.run_sync(
            functools.partial(self._backend.run, make_op, transaction=transaction)
        )

    def close(self) -> None:
        self._backend.close()


def _doc_id(kind: Kind, doc: dict[str, Any]) -> str:
    return str(doc["thread_id"] if kind == "thread" else doc["run_id"])
