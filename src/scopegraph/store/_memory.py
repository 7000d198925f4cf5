"""``InMemoryStore``: the store in a dict, for tests and single-process programs."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import anyio.lowlevel

from ._base import Embedded, IndexedStore
from ._match import list_namespaces, matches_filter, page, rank
from ._sweeper import TTLSweeping
from ._types import (
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
    coerce_ops,
)

__all__ = ("InMemoryStore",)


@dataclasses.dataclass(slots=True)
class _Entry:
    item: Item
    ttl_minutes: float | None
    expires_at: float | None
    vectors: dict[str, list[float]]


class InMemoryStore(TTLSweeping, IndexedStore):
    """A store kept in this process's memory (lost when it exits).

    Args:
        index: semantic search: ``{"dims": 1536, "embed": embeddings, "fields": ["text"]}``.
        ttl: item expiry: ``{"default_ttl": 60, "refresh_on_read": True}`` (minutes). As
            LangGraph's other stores, expired items are deleted by :meth:`sweep_ttl` or
            the sweeper, and reads skip them before that only with ``omit_expired``.

    Safe to share between threads and tasks. Search without a query lists items in the
    order their keys were first written, namespace by namespace (LangGraph's order).
    """

    _label = "InMemoryStore"

    def __init__(self, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        super().__init__(index=index, ttl=ttl)
        self._data: dict[tuple[str, ...], dict[str, _Entry]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemoryStore(namespaces={len(self._data)})"

    # -- batch ------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = coerce_ops(ops)
        return self._apply(ops, self._embed(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = coerce_ops(ops)
        embedded = await self._aembed(ops)
        await anyio.lowlevel.checkpoint()
        return self._apply(ops, embedded)

    def _apply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        item_vectors, queries = embedded.by_item(), embedded.queries
        now = time.time()
        results: list[Result] = []
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        with self._lock:
            for op in ops:
                if isinstance(op, GetOp):
                    results.append(self._get(op, now))
                elif isinstance(op, SearchOp):
                    results.append(self._search(op, queries, now))
                elif isinstance(op, ListNamespacesOp):
                    results.append(list_namespaces(self._live_namespaces(now), op))
                elif isinstance(op, PutOp):
                    puts[op.namespace, op.key] = op
                    results.append(None)
                else:
                    raise TypeError(f"Unknown operation type: {type(op).__name__}")
            # As LangGraph's stores: the batch's reads see the store before its writes.
            for (namespace, key), put in puts.items():
                self._put(namespace, key, put, item_vectors.get((namespace, key), {}))
        return results

    # -- operations (lock held) ---------------------------------------------------------------

    def _omit_expired(self) -> bool:
        return bool((self.ttl_config or {}).get("omit_expired", False))

    def _expired(self, entry: _Entry, now: float) -> bool:
        return entry.expires_at is not None and entry.expires_at <= now

    def _touch(self, entry: _Entry, refresh: bool, now: float) -> None:
        if refresh and entry.ttl_minutes is not None:
            entry.expires_at = now + entry.ttl_minutes * 60

    def _get(self, op: GetOp, now: float) -> Item | None:
        entry = self._data.get(op.namespace, {}).get(op.key)
        if entry is None or (self._omit_expired() and self._expired(entry, now)):
            return None
        self._touch(entry, op.refresh_ttl, now)
        return entry.item

    def _candidates(self, op: SearchOp, now: float) -> list[_Entry]:
        prefix = op.namespace_prefix
        n = len(prefix)
        omit = self._omit_expired()
        found: list[_Entry] = []
        for namespace, entries in self._data.items():
            if namespace[:n] != prefix:
                continue
            for entry in entries.values():
                if omit and self._expired(entry, now):
                    continue
                if matches_filter(entry.item.value, op.filter):
                    found.append(entry)
        return found

    def _search(self, op: SearchOp, queries: dict[str, list[float]], now: float) -> Result:
        entries = self._candidates(op, now)
        if op.query and op.query in queries:
            candidates = [(e.item, list(e.vectors.values())) for e in entries]
            results = rank(op, queries[op.query], candidates)
        else:
            results = page(op, [e.item for e in entries])
        if op.refresh_ttl:
            touched = {(r.namespace, r.key) for r in results}
            for entry in entries:
                if (entry.item.namespace, entry.item.key) in touched:
                    self._touch(entry, True, now)
        return results

    def _live_namespaces(self, now: float) -> list[tuple[str, ...]]:
        omit = self._omit_expired()
        return [
            ns
            for ns, entries in self._data.items()
            if entries and (not omit or any(not self._expired(e, now) for e in entries.values()))
        ]

    def _put(
        self,
        namespace: tuple[str, ...],
        key: str,
        op: PutOp,
        vectors: dict[str, list[float]],
    ) -> None:
        entries = self._data.get(namespace)
        if op.value is None:
            if entries is not None:
                entries.pop(key, None)
                if not entries:
                    del self._data[namespace]
            return
        if entries is None:
            entries = self._data[namespace] = {}
        now = datetime.now(UTC)
        previous = entries.get(key)
        created = previous.item.created_at if previous is not None else now
        item = Item(
            value=dict(op.value), key=key, namespace=namespace, created_at=created, updated_at=now
        )
        expires = None if op.ttl is None else time.time() + op.ttl * 60
        entries[key] = _Entry(item, op.ttl, expires, vectors)

    # -- TTL --------------------------------------------------------------------------------

    def sweep_ttl(self) -> int:
        """Delete the expired items now; the number deleted."""
        now = time.time()
        deleted = 0
        with self._lock:
            for namespace in list(self._data):
                entries = self._data[namespace]
                for key in [k for k, e in entries.items() if self._expired(e, now)]:
                    del entries[key]
                    deleted += 1
                if not entries:
                    del self._data[namespace]
        return deleted

    async def asweep_ttl(self) -> int:
        """The async twin of :meth:`sweep_ttl`."""
        await anyio.lowlevel.checkpoint()
        return self.sweep_ttl()
