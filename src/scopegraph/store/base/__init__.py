"""LangGraph's ``langgraph.store.base`` names (``from scopegraph.store.base import BaseStore``)."""

from __future__ import annotations

from typing import Any

from .._base import BaseStore as BaseStore
from .._embed import ensure_embeddings as ensure_embeddings
from .._embed import get_text_at_path as get_text_at_path
from .._embed import tokenize_path as tokenize_path
from .._types import NOT_PROVIDED as NOT_PROVIDED
from .._types import AEmbeddingsFunc as AEmbeddingsFunc
from .._types import EmbeddingsFunc as EmbeddingsFunc
from .._types import GetOp as GetOp
from .._types import IndexConfig as IndexConfig
from .._types import InvalidNamespaceError as InvalidNamespaceError
from .._types import Item as Item
from .._types import ListNamespacesOp as ListNamespacesOp
from .._types import MatchCondition as MatchCondition
from .._types import NamespaceMatchType as NamespaceMatchType
from .._types import NamespacePath as NamespacePath
from .._types import NotProvided as NotProvided
from .._types import Op as Op
from .._types import PutOp as PutOp
from .._types import Result as Result
from .._types import SearchItem as SearchItem
from .._types import SearchOp as SearchOp
from .._types import TTLConfig as TTLConfig
from .._types import validate_op_namespace as validate_op_namespace

__all__ = (
    "NOT_PROVIDED",
    "Embeddings",
    "AEmbeddingsFunc",
    "BaseStore",
    "EmbeddingsFunc",
    "GetOp",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
    "ensure_embeddings",
    "get_text_at_path",
    "tokenize_path",
    "validate_op_namespace",
)


def __getattr__(name: str) -> Any:
    # LangGraph's module re-exports LangChain's Embeddings; so does this one, on demand
    # (the core does not need langchain-core).
    if name == "Embeddings":
        try:
            from langchain_core.embeddings import Embeddings
        except ImportError as exc:
            raise ImportError(
                "Embeddings is LangChain's class: pip install 'scopegraph[langchain]' "
                "(or pass a function as index['embed'])"
            ) from exc
        return Embeddings
    raise AttributeError(f"module 'scopegraph.store.base' has no attribute {name!r}")
