"""``BaseStore``: the store API (LangGraph's), written once over ``batch``/``abatch``;
``IndexedStore``: what scopegraph's own stores share beneath it (the ``index`` and
``ttl`` options, and embedding a batch's texts)."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ._embed import Embedder, ensure_embeddings
from ._match import validate_filter
from ._texts import Texts, normalize_index, texts_to_embed
from ._types import (
    NOT_PROVIDED,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NamespacePath,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_refresh,
    ensure_ttl,
    validate_namespace,
    validate_namespace_labels,
)

__all__ = ("BaseStore", "Embedded", "IndexedStore")


def _listing(
    prefix: NamespacePath | None,
    suffix: NamespacePath | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> ListNamespacesOp:
    validate_namespace_labels(prefix or ())
    validate_namespace_labels(suffix or ())
    conditions: list[MatchCondition] = []
    if prefix:
        conditions.append(MatchCondition(match_type="prefix", path=prefix))
    if suffix:
        conditions.append(MatchCondition(match_type="suffix", path=suffix))
    return ListNamespacesOp(
        match_conditions=tuple(conditions), max_depth=max_depth, limit=limit, offset=offset
    )


class BaseStore(ABC):
    """Long-term memory shared across threads: JSON-like values under hierarchical
    namespaces, with filters, optional semantic search and optional TTLs.

    A store implements :meth:`batch` and :meth:`abatch`; every other method is one
    operation sent through them. Pass a store to ``graph.compile(store=...)``: nodes
    reach it as ``runtime.store``, as a ``store`` parameter, or by ``get_store()``.

    Example::

        store = InMemoryStore()
        store.put(("users", "u1"), "prefs", {"theme": "dark"})
        store.get(("users", "u1"), "prefs").value  # {'theme': 'dark'}
        store.search(("users",), filter={"theme": "dark"})
    """

    supports_ttl: bool = False
    ttl_config: TTLConfig | None = None

    __slots__ = ("__weakref__",)

    @abstractmethod
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run several operations together; one result per operation, in order."""

    @abstractmethod
    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """The async twin of :meth:`batch`."""

    # -- the operations, sync --------------------------------------------------------------

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item at ``namespace``/``key``, or None."""
        return self.batch([self._get_op(namespace, key, refresh_ttl)])[0]  # type: ignore[return-value]

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Items under ``namespace_prefix`` matching ``filter``, ranked by ``query``."""
        op = self._search_op(namespace_prefix, query, filter, limit, offset, refresh_ttl)
        return self.batch([op])[0]  # type: ignore[return-value]

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Store ``value`` (a dict) at ``namespace``/``key``, replacing what was there.

        ``index``: the fields to embed (None: the store's; False: none). ``ttl``: minutes
        until the item expires (default: the store's ``default_ttl``).
        """
        self.batch([self._put_op(namespace, key, value, index, ttl)])

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        """Delete the item at ``namespace``/``key`` (nothing happens if there is none)."""
        validate_namespace_labels(namespace)
        self.batch([PutOp(namespace, str(key), None, ttl=None)])

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """The namespaces holding items, sorted; ``"*"`` in a path matches any label."""
        op = _listing(prefix, suffix, max_depth, limit, offset)
        return self.batch([op])[0]  # type: ignore[return-value]

    # -- the operations, async -------------------------------------------------------------

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The async twin of :meth:`get`."""
        return (await self.abatch([self._get_op(namespace, key, refresh_ttl)]))[0]  # type: ignore[return-value]

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """The async twin of :meth:`search`."""
        op = self._search_op(namespace_prefix, query, filter, limit, offset, refresh_ttl)
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """The async twin of :meth:`put`."""
        await self.abatch([self._put_op(namespace, key, value, index, ttl)])

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        """The async twin of :meth:`delete`."""
        validate_namespace_labels(namespace)
        await self.abatch([PutOp(namespace, str(key), None, ttl=None)])

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """The async twin of :meth:`list_namespaces`."""
        op = _listing(prefix, suffix, max_depth, limit, offset)
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    # -- building operations ---------------------------------------------------------------

    def _get_op(self, namespace: tuple[str, ...], key: str, refresh_ttl: bool | None) -> GetOp:
        validate_namespace_labels(namespace)
        return GetOp(namespace, str(key), ensure_refresh(self.ttl_config, refresh_ttl))

    def _search_op(
        self,
        namespace_prefix: tuple[str, ...],
        query: str | None,
        filter: dict[str, Any] | None,
        limit: int,
        offset: int,
        refresh_ttl: bool | None,
    ) -> SearchOp:
        validate_namespace_labels(namespace_prefix)
        validate_filter(filter)
        refresh = ensure_refresh(self.ttl_config, refresh_ttl)
        return SearchOp(namespace_prefix, filter, limit, offset, query, refresh)

    def _put_op(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None,
        ttl: float | NotProvided | None,
    ) -> PutOp:
        validate_namespace(namespace)
        if not isinstance(value, Mapping):
            raise TypeError(
                f"a stored value must be a dict (a Mapping), not {type(value).__name__}; "
                'wrap it, e.g. {"value": ...}'
            )
        if ttl not in (NOT_PROVIDED, None) and not self.supports_ttl:
            raise NotImplementedError(
                f"TTL is not supported by {type(self).__name__}. Use a store implementation "
                "that supports TTL or set ttl=None."
            )
        return PutOp(namespace, str(key), value, index=index, ttl=ensure_ttl(self.ttl_config, ttl))


@dataclasses.dataclass(frozen=True, slots=True)
class Embedded:
    """A batch's texts to embed (its puts' indexed fields, its queries) and their
    vectors."""

    texts: Texts
    documents: list[list[float]]
    queries: dict[str, list[float]]

    def by_item(self) -> dict[tuple[tuple[str, ...], str], dict[str, list[float]]]:
        """``{(namespace, key): {field path: vector}}`` of the batch's puts."""
        return self.texts.vectors_by_item(self.documents)


class IndexedStore(BaseStore):
    """The part of ``InMemoryStore`` and the SQL stores that is the same: LangGraph's
    ``index`` (semantic search: ``embed``, ``dims``, ``fields``) and ``ttl`` options,
    and the embedding of a batch's texts, from sync or async code, before the batch
    touches the data (so a slow embedding holds no lock and no transaction)."""

    supports_ttl = True
    _label = "IndexedStore"
    """The class name the option errors show."""

    def __init__(self, *, index: Any = None, ttl: TTLConfig | None = None) -> None:
        self.ttl_config = ttl
        self.index_config: IndexConfig | None = normalize_index(index, self._label)
        self._embedder: Embedder | None = (
            ensure_embeddings(self.index_config["embed"]) if self.index_config else None
        )
        self.embeddings: Any = None if self._embedder is None else self._embedder.embeddings

    def _embed(self, ops: list[Op]) -> Embedded:
        """Embed the batch's texts (sync: an async-only embedding function refuses)."""
        texts = texts_to_embed(ops, self.index_config, self._embedder)
        embedder = self._embedder
        if embedder is None or texts.empty:
            return Embedded(texts, [], {})
        documents = embedder.embed_documents(texts.documents) if texts.documents else []
        return Embedded(texts, documents, {q: embedder.embed_query(q) for q in texts.queries})

    async def _aembed(self, ops: list[Op]) -> Embedded:
        """The async twin of :meth:`_embed` (a sync function runs in a worker thread)."""
        texts = texts_to_embed(ops, self.index_config, self._embedder)
        embedder = self._embedder
        if embedder is None or texts.empty:
            return Embedded(texts, [], {})
        documents = await embedder.aembed_documents(texts.documents) if texts.documents else []
        queries: dict[str, list[float]] = {}
        for query in texts.queries:
            queries[query] = await embedder.aembed_query(query)
        return Embedded(texts, documents, queries)
