"""Long-term memory: the store API of LangGraph (``langgraph.store``).

A store keeps JSON-like values under hierarchical namespaces, across threads and runs:
``put``, ``get``, ``search`` (filters, and natural-language ``query`` with an ``index``),
``delete``, ``list_namespaces``, ``batch``, their async twins, and item TTLs. Three
stores: :class:`InMemoryStore` (:mod:`scopegraph.store.memory`), :class:`SqliteStore`
(:mod:`scopegraph.store.sqlite`, the standard library's sqlite3) and
:class:`PostgresStore` (:mod:`scopegraph.store.postgres`, psycopg 3: install
``scopegraph[postgres]``). Give one to ``graph.compile(store=...)``; nodes reach it as
``runtime.store``, as a ``store`` parameter, or by :func:`scopegraph.config.get_store`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import BaseStore as BaseStore
from ._embed import ensure_embeddings as ensure_embeddings
from ._embed import get_text_at_path as get_text_at_path
from ._embed import tokenize_path as tokenize_path
from ._types import NOT_PROVIDED as NOT_PROVIDED
from ._types import AEmbeddingsFunc as AEmbeddingsFunc
from ._types import EmbeddingsFunc as EmbeddingsFunc
from ._types import GetOp as GetOp
from ._types import IndexConfig as IndexConfig
from ._types import InvalidNamespaceError as InvalidNamespaceError
from ._types import Item as Item
from ._types import ListNamespacesOp as ListNamespacesOp
from ._types import MatchCondition as MatchCondition
from ._types import NamespaceMatchType as NamespaceMatchType
from ._types import NamespacePath as NamespacePath
from ._types import NotProvided as NotProvided
from ._types import Op as Op
from ._types import PutOp as PutOp
from ._types import Result as Result
from ._types import SearchItem as SearchItem
from ._types import SearchOp as SearchOp
from ._types import TTLConfig as TTLConfig
from ._types import validate_op_namespace as validate_op_namespace

if TYPE_CHECKING:
    from ._memory import InMemoryStore as InMemoryStore
    from ._postgres import PostgresStore as PostgresStore
    from ._postgres import StoreConnectionError as StoreConnectionError
    from ._sql import StoreError as StoreError
    from ._sqlite import SqliteStore as SqliteStore

__all__ = (
    "NOT_PROVIDED",
    "AEmbeddingsFunc",
    "BaseStore",
    "EmbeddingsFunc",
    "GetOp",
    "InMemoryStore",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PostgresStore",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "SqliteStore",
    "StoreConnectionError",
    "StoreError",
    "TTLConfig",
    "ensure_embeddings",
    "get_text_at_path",
    "tokenize_path",
    "validate_op_namespace",
)

_LAZY = {
    "InMemoryStore": "._memory",
    "SqliteStore": "._sqlite",
    "StoreError": "._sql",
    "PostgresStore": "._postgres",
    "StoreConnectionError": "._postgres",
}


def __getattr__(name: str) -> Any:
    # The stores are imported when asked for: PostgresStore needs psycopg.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scopegraph.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, __name__), name)
