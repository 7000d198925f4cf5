"""``AsyncPostgresStore``, where LangGraph has it: ``langgraph.store.postgres.aio`` (the
same class as ``scopegraph.store.postgres.AsyncPostgresStore``)."""

from __future__ import annotations

from .._postgres import AsyncPostgresStore as AsyncPostgresStore

__all__ = ("AsyncPostgresStore",)
