"""LangGraph's ``langgraph.store.base.batch``: :class:`AsyncBatchedBaseStore`, the base
class of an async store whose concurrent calls reach its ``abatch`` together."""

from __future__ import annotations

from .._batch import AsyncBatchedBaseStore as AsyncBatchedBaseStore
from .._batch import _dedupe_ops as _dedupe_ops  # private, as in LangGraph's module

__all__ = ("AsyncBatchedBaseStore",)
