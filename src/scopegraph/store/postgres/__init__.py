"""``PostgresStore``, where LangGraph has it: ``langgraph.store.postgres`` (needs psycopg:
``pip install 'scopegraph[postgres]'``)."""

from __future__ import annotations

from .._postgres import AsyncPostgresStore as AsyncPostgresStore
from .._postgres import PostgresStore as PostgresStore
from .._postgres import StoreConnectionError as StoreConnectionError

__all__ = ("AsyncPostgresStore", "PostgresStore", "StoreConnectionError")
