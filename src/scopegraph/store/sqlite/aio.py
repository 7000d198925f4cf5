"""``AsyncSqliteStore``, where LangGraph has it: ``langgraph.store.sqlite.aio`` (the
same class as ``scopegraph.store.sqlite.AsyncSqliteStore``)."""

from __future__ import annotations

from .._sqlite import AsyncSqliteStore as AsyncSqliteStore

__all__ = ("AsyncSqliteStore",)
