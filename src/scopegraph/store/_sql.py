"""The SQL stores' logic, written once for SQLite and PostgreSQL.

Tables (prefix ``scopegraph_store_``):

- ``items``: one row per item: ``prefix`` (the namespace's labels joined by ``.``, which
  labels cannot contain), ``key``, ``value`` (JSON text), ``created_at`` / ``updated_at``
  / ``expires_at`` (Unix seconds) and ``ttl_minutes``;
- ``vectors``: the embeddings of an item's indexed fields, one row per field path,
  deleted with their item (``ON DELETE CASCADE``).

A namespace prefix is a range on ``prefix`` (``p`` itself, or ``p.`` up to ``p/``:
``/`` follows ``.`` in byte order), so it uses the primary key's index. Filters, the
ranking of a query and the namespace conditions are applied in Python by
:mod:`._match` to the rows of the prefix, as the in-memory store applies them: the
three stores give the same answers. A search without a filter or a query pages in SQL.
Similarity is computed in Python (no vector extension is needed): a semantic search
reads every vector under its prefix, which is fine up to some ten thousand items per
prefix; narrow the prefix beyond that.

An operation is a generator that yields ``(statement, params)`` (``%(name)s``
placeholders) and receives each statement's result (``.rows``, ``.rowcount``); the SQLite
store rewrites the placeholders to ``:name``. The whole batch runs in one transaction.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import math
import re
import time
from abc import abstractmethod
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, cast

import anyio.to_thread

from .._errors import ScopegraphError
from ._base import Embedded, IndexedStore
from ._match import list_namespaces, matches_filter, page, rank
from ._sweeper import TTLSweeping
from ._types import (
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    coerce_ops,
)

__all__ = (
    "DELETE_VECTORS",
    "AsyncNames",
    "ITEMS",
    "UPSERT",
    "VECTORS",
    "SqlOp",
    "SqlStore",
    "StoreError",
)

ITEMS = "scopegraph_store_items"
VECTORS = "scopegraph_store_vectors"


class StoreError(ScopegraphError):
    """A SQL store could not do what was asked (the database failed or refused)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rows:
    """A statement's result, as the operations read it."""

    rows: list[Any]
    rowcount: int


SqlOp = Generator[tuple[str, Any], Any, Any]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
"""Filter keys pushed into SQL (others, dotted paths included, are filtered in Python)."""
_RANGES = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_COLUMNS = "prefix, key, value, created_at, updated_at, expires_at, ttl_minutes"
UPSERT = (
    f"INSERT INTO {ITEMS} ({_COLUMNS})"
    " VALUES (%(prefix)s, %(key)s, %(value)s, %(now)s, %(now)s, %(expires_at)s,"
    " %(ttl_minutes)s)"
    " ON CONFLICT (prefix, key) DO UPDATE SET value = excluded.value,"
    " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
    " ttl_minutes = excluded.ttl_minutes"
)
DELETE_VECTORS = f"DELETE FROM {VECTORS} WHERE prefix = %(prefix)s AND key = %(key)s"


def _text(namespace: tuple[str, ...]) -> str:
    return ".".join(namespace)


def _namespace(prefix: str) -> tuple[str, ...]:
    return tuple(prefix.split("."))


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _dumps(value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"a stored value must be JSON-serializable (dicts, lists, str, numbers, bools, "
            f"None): {exc}"
        ) from None


def _item(row: Sequence[Any], value: dict[str, Any] | None = None) -> Item:
    prefix, key, text, created, updated = row[:5]
    return Item(
        value=json.loads(text) if value is None else value,
        key=key,
        namespace=_namespace(prefix),
        created_at=_moment(created),
        updated_at=_moment(updated),
    )


def _prefix_condition(prefix: tuple[str, ...], params: dict[str, Any]) -> str:
    if not prefix:
        return "TRUE"
    text = _text(prefix)
    params["ns"], params["lo"], params["hi"] = text, text + ".", text + "/"
    return "(prefix = %(ns)s OR (prefix >= %(lo)s AND prefix < %(hi)s))"


class SqlStore(TTLSweeping, IndexedStore):
    """A store whose batches run as :data:`SqlOp` on a database (SQLite or PostgreSQL)."""

    _label = "SqlStore"
    _upsert: tuple[str, ...] = (UPSERT, DELETE_VECTORS)
    """The statements that store an item and drop its old vectors."""

    @classmethod
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Self:
        """The store for ``conn_string``; ``with Store.from_conn_string(s) as store:``
        works as in LangGraph, because the store is a context manager."""
        return cls(conn_string, **kwargs)  # type: ignore[call-arg]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @abstractmethod
    def close(self) -> None:
        """Release the store's connections (idempotent); stop a sweeper thread."""

    @abstractmethod
    async def aclose(self) -> None:
        """The async twin of :meth:`close`."""

    # -- how a subclass runs an operation ---------------------------------------------------

    @abstractmethod
    def _run(self, make_op: Callable[[], SqlOp], transaction: bool = True) -> Any:
        """Run the operation (in one transaction if asked) and return its result."""

    @abstractmethod
    async def _arun(self, make_op: Callable[[], SqlOp], transaction: bool = True) -> Any:
        """The async twin of :meth:`_run`."""

    def _needs_transaction(self, ops: list[Op]) -> bool:
        """Whether a batch runs in a transaction: when it writes (its reads need none)."""
        return any(isinstance(op, PutOp) for op in ops)

    def _encode_vector(self, vector: list[float]) -> Any:
        return json.dumps(vector)

    def _decode_vector(self, stored: Any) -> list[float]:
        return list(json.loads(stored)) if isinstance(stored, str) else list(stored)

    # -- batch ------------------------------------------------------------------------------

    def _refreshing(self, refresh_ttl: bool) -> bool:
        """Whether a read with ``refresh_ttl`` (the call's, else the TTL config's
        ``refresh_on_read``, else True) moves its items' expiry on: it does (LangGraph's
        ``PostgresStore``)."""
        return refresh_ttl

    def _check(self, ops: list[Op]) -> None:
        """Refuse what this store refuses before anything runs (nothing here)."""

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = coerce_ops(ops)
        self._check(ops)
        embedded = self._embed(ops)
        return self._run(  # type: ignore[no-any-return]
            lambda: self._batch(ops, embedded), self._needs_transaction(ops)
        )

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = coerce_ops(ops)
        self._check(ops)
        embedded = await self._aembed(ops)
        return await self._arun(  # type: ignore[no-any-return]
            lambda: self._batch(ops, embedded), self._needs_transaction(ops)
        )

    def _batch(
        self, ops: list[Op], embedded: Embedded
    ) -> Generator[tuple[str, Any], Any, list[Result]]:
        vectors, queries = embedded.by_item(), embedded.queries
        now = time.time()
        results: list[Result] = []
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            if isinstance(op, GetOp):
                results.append((yield from self._get(op, now)))
            elif isinstance(op, SearchOp):
                results.append((yield from self._search(op, queries, now)))
            elif isinstance(op, ListNamespacesOp):
                results.append((yield from self._list(op, now)))
            elif isinstance(op, PutOp):
                puts[op.namespace, op.key] = op
                results.append(None)
            else:
                raise TypeError(f"Unknown operation type: {type(op).__name__}")
        # As the in-memory store: the batch's reads see the store before its writes.
        for (namespace, key), put in puts.items():
            yield from self._put(namespace, key, put, vectors.get((namespace, key), {}), now)
        return results

    # -- the operations ------------------------------------------------------------------------

    def _live(self, params: dict[str, Any], now: float) -> str:
        if not (self.ttl_config or {}).get("omit_expired", False):
            return ""
        params["now"] = now
        return " AND (expires_at IS NULL OR expires_at > %(now)s)"

    def _refresh(self, found: list[tuple[str, str]], now: float) -> SqlOp:
        for prefix, key in found:
            yield (
                f"UPDATE {ITEMS} SET expires_at = %(now)s + ttl_minutes * 60"
                " WHERE prefix = %(prefix)s AND key = %(key)s AND ttl_minutes IS NOT NULL",
                {"now": now, "prefix": prefix, "key": key},
            )

    def _get(self, op: GetOp, now: float) -> Generator[tuple[str, Any], Any, Item | None]:
        params: dict[str, Any] = {"prefix": _text(op.namespace), "key": op.key}
        live = self._live(params, now)
        found = yield (
            f"SELECT {_COLUMNS} FROM {ITEMS} WHERE prefix = %(prefix)s AND key = %(key)s{live}",
            params,
        )
        if not found.rows:
            return None
        row = found.rows[0]
        if self._refreshing(op.refresh_ttl) and row[6] is not None:
            yield from self._refresh([(row[0], row[1])], now)
        return _item(row)

    def _search(
        self, op: SearchOp, queries: dict[str, list[float]], now: float
    ) -> Generator[tuple[str, Any], Any, Result]:
        params: dict[str, Any] = {}
        where = _prefix_condition(op.namespace_prefix, params) + self._live(params, now)
        where += self._prefilter(op.filter, params)
        statement = (
            f"SELECT {_COLUMNS} FROM {ITEMS} WHERE {where} ORDER BY updated_at DESC, prefix, key"
        )
        ranked = bool(op.query) and op.query in queries
        if not op.filter and not ranked:
            params["limit"], params["offset"] = max(op.limit, 0), max(op.offset, 0)
            found = yield statement + " LIMIT %(limit)s OFFSET %(offset)s", params
            rows = found.rows
            results = page(SearchOp(op.namespace_prefix, limit=len(rows)), [_item(r) for r in rows])
        else:
            found = yield statement, params
            rows = []
            values: list[dict[str, Any]] = []
            for row in found.rows:
                value = json.loads(row[2])
                if matches_filter(value, op.filter):
                    rows.append(row)
                    values.append(value)
            if ranked:
                assert op.query is not None
                by_item = yield from self._vectors(op.namespace_prefix)
                candidates = [
                    (_item(row, value), by_item.get((row[0], row[1]), []))
                    for row, value in zip(rows, values, strict=True)
                ]
                results = rank(op, queries[op.query], candidates)
            else:  # Items for the page only: most rows of a filtered search are not shown
                shown = slice(op.offset, op.offset + op.limit)
                items = [_item(r, v) for r, v in zip(rows[shown], values[shown], strict=True)]
                results = page(SearchOp(op.namespace_prefix, limit=len(items)), items)
        if self._refreshing(op.refresh_ttl):
            with_ttl = {(r[0], r[1]) for r in rows if r[6] is not None}
            touched = [
                (_text(r.namespace), r.key)
                for r in results
                if (_text(r.namespace), r.key) in with_ttl
            ]
            yield from self._refresh(touched, now)
        return results

    def _json_text(self, key_param: str) -> str:
        """SQL for the text of a top-level key of ``value`` (None: no pre-filter)."""
        return ""

    def _number_test(self, key_param: str, operator: str, value_param: str) -> str:
        """SQL true for a row whose key holds a number passing ``operator`` (or holds no
        number: those are left to the Python filter)."""
        return ""

    def _prefilter(self, filter: dict[str, Any] | None, params: dict[str, Any]) -> str:
        """SQL conditions that keep every row a filter can match: a top-level string
        equality, or a number range on a top-level key (a superset: the filter itself is
        then applied in Python, so answers do not change), so that fewer rows leave the
        database."""
        if not filter:
            return ""
        conditions = []
        for i, (key, wanted) in enumerate(filter.items()):
            if not _PLAIN_KEY.fullmatch(key):
                continue
            if isinstance(wanted, dict) and set(wanted) == {"$eq"}:
                wanted = wanted["$eq"]
            if isinstance(wanted, str):
                params[f"k{i}"], params[f"v{i}"] = key, wanted
                conditions.append(f" AND {self._json_text(f'k{i}')} = %(v{i})s")
            elif isinstance(wanted, dict):
                for j, (op, operand) in enumerate(wanted.items()):
                    sql_op = _RANGES.get(op)
                    if sql_op is None or not _is_number(operand):
                        continue
                    params[f"k{i}"], params[f"v{i}_{j}"] = key, float(operand)
                    test = self._number_test(f"k{i}", sql_op, f"v{i}_{j}")
                    if test:
                        conditions.append(f" AND {test}")
        return "".join(conditions)

    def _vectors(
        self, prefix: tuple[str, ...]
    ) -> Generator[tuple[str, Any], Any, dict[tuple[str, str], list[list[float]]]]:
        params: dict[str, Any] = {}
        where = _prefix_condition(prefix, params)
        found = yield f"SELECT prefix, key, embedding FROM {VECTORS} WHERE {where}", params
        by_item: dict[tuple[str, str], list[list[float]]] = {}
        for row_prefix, key, embedding in found.rows:
            by_item.setdefault((row_prefix, key), []).append(self._decode_vector(embedding))
        return by_item

    def _list(
        self, op: ListNamespacesOp, now: float
    ) -> Generator[tuple[str, Any], Any, list[tuple[str, ...]]]:
        params: dict[str, Any] = {}
        live = self._live(params, now)
        found = yield f"SELECT DISTINCT prefix FROM {ITEMS} WHERE TRUE{live}", params
        return list_namespaces((_namespace(row[0]) for row in found.rows), op)

    def _put(
        self,
        namespace: tuple[str, ...],
        key: str,
        op: PutOp,
        vectors: dict[str, list[float]],
        now: float,
    ) -> SqlOp:
        params: dict[str, Any] = {"prefix": _text(namespace), "key": key}
        if op.value is None:
            yield f"DELETE FROM {ITEMS} WHERE prefix = %(prefix)s AND key = %(key)s", params
            return
        params.update(
            value=_dumps(op.value),
            now=now,
            expires_at=None if op.ttl is None else now + op.ttl * 60,
            ttl_minutes=op.ttl,
        )
        for statement in self._upsert:
            yield statement, params
        for field, vector in vectors.items():
            yield (
                f"INSERT INTO {VECTORS} (prefix, key, field, embedding)"
                " VALUES (%(prefix)s, %(key)s, %(field)s, %(embedding)s)",
                {**params, "field": field, "embedding": self._encode_vector(vector)},
            )

    def _sweep_lock(self, wait: bool) -> str | None:
        """The statement that lets one sweep at a time run on a database several
        processes share, taking a lock held until the sweep's transaction ends (``wait``:
        until it is free; else at once or never, selecting whether it got it). None: a
        database no other process sweeps."""
        return None

    def _sweep(self, wait: bool) -> Generator[tuple[str, Any], Any, int]:
        lock = self._sweep_lock(wait)
        if lock is not None:
            got = yield lock, {}
            if not wait and not got.rows[0][0]:
                return 0  # another process is sweeping: this round is its
        deleted = yield (
            f"DELETE FROM {ITEMS} WHERE expires_at IS NOT NULL AND expires_at <= %(now)s",
            {"now": time.time()},
        )
        return int(deleted.rowcount)

    def _sweeping(self, wait: bool) -> tuple[Callable[[], SqlOp], bool]:
        """The sweep operation and whether it needs a transaction (to hold the lock)."""
        return functools.partial(self._sweep, wait), self._sweep_lock(wait) is not None

    def sweep_ttl(self) -> int:
        """Delete the expired items now; the number deleted. On PostgreSQL it waits for a
        sweep another process is running, then sweeps what is left."""
        return int(self._run(*self._sweeping(wait=True)))

    def _sweep_sync(self) -> int:
        return int(self._run(*self._sweeping(wait=False)))

    async def asweep_ttl(self) -> int:
        """The async twin of :meth:`sweep_ttl`."""
        return int(await self._arun(*self._sweeping(wait=True)))

    async def _asweep_round(self) -> int:
        return int(await self._arun(*self._sweeping(wait=False)))


class AsyncNames:
    """LangGraph's ``AsyncSqliteStore`` / ``AsyncPostgresStore`` names: a store whose
    ``setup``, ``sweep_ttl``, ``start_ttl_sweeper`` and ``stop_ttl_sweeper`` are
    coroutines. Every scopegraph store has both APIs; these only rename."""

    async def setup(self) -> None:
        """Create the tables now (otherwise done on first use)."""
        await self.asetup()  # type: ignore[attr-defined]

    async def sweep_ttl(self) -> int:
        """Delete the expired items now; the number deleted."""
        return await self.asweep_ttl()  # type: ignore[attr-defined, no-any-return]

    async def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Start the sweeper thread (see ``SqliteStore.start_ttl_sweeper``); prefer
        ``async with store.open_ttl_sweeper():``, which runs it as a task of yours."""
        return TTLSweeping.start_ttl_sweeper(self, sweep_interval_minutes)  # type: ignore[arg-type]

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Stop the sweeper thread; True once it has stopped."""
        stop = TTLSweeping.stop_ttl_sweeper
        return await anyio.to_thread.run_sync(stop, cast(Any, self), timeout)
