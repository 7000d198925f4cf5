"""``langgraph.store.sqlite.base``'s public type: :class:`SqliteIndexConfig`, the
``index`` option of the SQLite stores (the same keys as :class:`IndexConfig`)."""

from __future__ import annotations

from .._types import IndexConfig


class SqliteIndexConfig(IndexConfig):
    """The ``index`` option of ``SqliteStore`` / ``AsyncSqliteStore``: ``dims``,
    ``embed``, ``fields`` (LangGraph's name, for annotations)."""


__all__ = ("SqliteIndexConfig",)
