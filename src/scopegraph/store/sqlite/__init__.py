"""``SqliteStore``, where LangGraph has it: ``langgraph.store.sqlite``."""

from __future__ import annotations

from .._sqlite import AsyncSqliteStore as AsyncSqliteStore
from .._sqlite import SqliteStore as SqliteStore

__all__ = ("AsyncSqliteStore", "SqliteStore")
