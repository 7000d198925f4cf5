"""``PostgresStore``: the store in PostgreSQL, through psycopg 3 and psycopg_pool.

The tables of :mod:`._sql` (``prefix`` collated ``"C"``, so a namespace prefix is a
byte-order range on the primary key; vectors as ``double precision[]``), created or
migrated under an advisory lock by :class:`scopegraph._postgres.Database`, which also
keeps the pools (the async pool on asyncio; on trio the sync pool in worker threads),
replaces broken connections, and maps psycopg's errors to :class:`StoreError` /
:class:`StoreConnectionError`. A batch runs in one transaction.

Semantic search computes cosine similarity in Python over the vectors under the
search's namespace prefix; the pgvector extension is not used (see ``docs/store.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread

try:
    import psycopg  # noqa: F401 - fail here, naming the extra, when it is missing
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("PostgresStore needs psycopg: pip install 'scopegraph[postgres]'") from exc

from .._postgres import Database, ErrorKinds, Schema
from ._sql import DELETE_VECTORS, ITEMS, UPSERT, VECTORS, AsyncNames, SqlOp, SqlStore, StoreError
from ._sweeper import TTLSweeping
from ._types import Op, PutOp, TTLConfig

__all__ = ("AsyncPostgresStore", "PostgresStore", "StoreConnectionError")


SWEEP_LOCK_KEY = int.from_bytes(b"sg-sttl", "big")
"""The advisory lock a sweep of expired items holds, so that one process sweeps at a
time (the threads' TTL sweep of the server holds ``b"sg-ttl"``)."""


class StoreConnectionError(StoreError, ConnectionError):
    """PostgreSQL cannot be reached, or the connection broke; the message says what to
    check."""


_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""
        CREATE TABLE {ITEMS} (
            prefix TEXT COLLATE "C" NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION,
            ttl_minutes DOUBLE PRECISION,
            PRIMARY KEY (prefix, key)
        )
        """,
        f"CREATE INDEX {ITEMS}_expires ON {ITEMS} (expires_at) WHERE expires_at IS NOT NULL",
        f"""
        CREATE TABLE {VECTORS} (
            prefix TEXT COLLATE "C" NOT NULL,
            key TEXT NOT NULL,
            field TEXT NOT NULL,
            embedding DOUBLE PRECISION[] NOT NULL,
            PRIMARY KEY (prefix, key, field),
            FOREIGN KEY (prefix, key) REFERENCES {ITEMS} (prefix, key) ON DELETE CASCADE
        )
        """,
    ),
)

_SCHEMA = Schema(
    what="the PostgreSQL store tables",
    version_table="scopegraph_store_schema_version",
    lock_key=int.from_bytes(b"sg-store", "big"),
    migrations=_MIGRATIONS,
    error=StoreError,
)
_ERRORS = ErrorKinds(label="PostgresStore", error=StoreError, connection_error=StoreConnectionError)


class PostgresStore(SqlStore):
    """A store in PostgreSQL (psycopg 3 with connection pools).

    Args:
        conninfo: a libpq connection string or URI, e.g. ``"postgresql://localhost/app"``.
        index: semantic search: ``{"dims": 1536, "embed": embeddings, "fields": ["text"]}``.
        ttl: item expiry: ``{"default_ttl": 60, "sweep_interval_minutes": 5}`` (minutes).
        pool_size: the most connections each pool (sync, async) opens.
        connect_timeout: seconds to wait for a connection (unless the string sets it).
        pool_timeout: seconds an operation waits for a free connection.

    The tables are created on first use (or by :meth:`setup` / :meth:`asetup`). Use it as
    a (async) context manager to close its pools::

        async with PostgresStore.from_conn_string("postgresql://localhost/app") as store:
            graph = builder.compile(store=store)
    """

    _label = "PostgresStore"
    # One round trip: the old vectors go in the same statement as the item's upsert.
    _upsert = (f"WITH gone AS ({DELETE_VECTORS}) {UPSERT}",)

    def __init__(
        self,
        conninfo: str,
        *,
        index: Any = None,
        ttl: TTLConfig | None = None,
        pool_size: int = 10,
        connect_timeout: int = 5,
        pool_timeout: float = 30.0,
    ) -> None:
        if not isinstance(conninfo, str):
            raise TypeError(
                "PostgresStore takes a connection string "
                f"('postgresql://user@host/db'), not {type(conninfo).__name__}"
            )
        super().__init__(index=index, ttl=ttl)
        self._db = Database(
            conninfo,
            schema=_SCHEMA,
            errors=_ERRORS,
            application_name="scopegraph",
            pool_name="scopegraph-store",
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )

    def __repr__(self) -> str:
        return f"PostgresStore({self._db.target()})"

    def setup(self) -> None:
        """Connect, and create or migrate the tables (also done on first use)."""
        self._db.pool()

    async def asetup(self) -> None:
        await self._db.setup()

    def close(self) -> None:
        TTLSweeping.stop_ttl_sweeper(self)
        self._db.close()

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(TTLSweeping.stop_ttl_sweeper, self)
        await self._db.aclose()

    def _encode_vector(self, vector: list[float]) -> Any:
        return vector

    def _needs_transaction(self, ops: list[Op]) -> bool:
        """A batch that writes one item without vectors is one statement (atomic under
        autocommit): it saves the round trips of BEGIN and COMMIT."""
        puts = {(op.namespace, op.key): op for op in ops if isinstance(op, PutOp)}
        if len(puts) > 1:
            return True
        return any(op.value is not None and self.index_config is not None for op in puts.values())

    def _number_test(self, key_param: str, operator: str, value_param: str) -> str:
        # CASE: PostgreSQL may evaluate an OR's operands in any order, and the cast
        # fails on what is not a number
        item = f"(value::jsonb -> %({key_param})s)"
        return (
            f"(CASE WHEN jsonb_typeof({item}) = 'number'"
            f" THEN ({item})::float8 {operator} %({value_param})s ELSE TRUE END)"
        )

    def _sweep_lock(self, wait: bool) -> str | None:
        if wait:
            return f"SELECT pg_advisory_xact_lock({SWEEP_LOCK_KEY})"
        return f"SELECT pg_try_advisory_xact_lock({SWEEP_LOCK_KEY})"

    def _json_text(self, key_param: str) -> str:
        return f"(value::jsonb ->> %({key_param})s)"

    def _run(self, make_op: Callable[[], SqlOp], transaction: bool = True) -> Any:
        return self._db.run(make_op, transaction=transaction)

    async def _arun(self, make_op: Callable[[], SqlOp], transaction: bool = True) -> Any:
        return await self._db.arun(make_op, transaction=transaction)


class AsyncPostgresStore(AsyncNames, PostgresStore):  # type: ignore[misc]
    """LangGraph's ``AsyncPostgresStore`` name: a :class:`PostgresStore` whose ``setup``,
    ``sweep_ttl`` and sweeper methods are coroutines (every store has both APIs)."""
