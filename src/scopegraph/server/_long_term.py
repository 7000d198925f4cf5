"""The server's long-term memory: the :mod:`scopegraph.store` store of ``/store/...``,
which the served graphs also get as ``runtime.store``. By default it lives in the
server's database: a :class:`~scopegraph.store.SqliteStore` in its SQLite file, a
:class:`~scopegraph.store.PostgresStore` in its PostgreSQL database (shared by every
process of a scale-out deployment), or an :class:`~scopegraph.store.InMemoryStore` for
a server without a database."""

from __future__ import annotations

import contextlib
from typing import Any

from ..store import BaseStore

__all__ = ("close_store", "open_store", "sweeping")


def open_store(database: str | None, **config: Any) -> BaseStore:
    """The store in ``database`` (None: in memory); ``config``: ``index``, ``ttl``
    (``store`` of a ``langgraph.json``). An ``index.embed`` that cannot be loaded (a
    ``provider:model`` whose LangChain package is missing) is a ValueError naming it.

    As on LangGraph's server, reads refresh the items' TTL unless the ``ttl`` config sets
    ``refresh_on_read`` to false (the ``SqliteStore`` alone would not refresh without
    it, as LangGraph's ``SqliteStore`` does not)."""
    if config.get("ttl") is not None:
        config = {**config, "ttl": {"refresh_on_read": True, **config["ttl"]}}
    try:
        if database is None:
            from ..store.memory import InMemoryStore

            return InMemoryStore(**config)
        if database.startswith(("postgresql://", "postgres://")):
            from ..store.postgres import PostgresStore

            return PostgresStore(database, **config)
        from ..store.sqlite import SqliteStore

        return SqliteStore(database, **config)
    except ImportError as exc:
        raise ValueError(f"store.index.embed: {exc}") from None


def sweeping(store: BaseStore) -> contextlib.AbstractAsyncContextManager[Any]:
    """What runs the store's TTL sweeper while the server runs: the store's own
    ``open_ttl_sweeper`` when it has a ``ttl`` config (every ``sweep_interval_minutes``,
    else 5, as LangGraph's server sweeps its store), else nothing."""
    opener = getattr(store, "open_ttl_sweeper", None)
    if not store.ttl_config or opener is None:
        return contextlib.nullcontext()
    return opener()  # type: ignore[no-any-return]


async def close_store(store: BaseStore) -> None:
    """Close what :func:`open_store` opened (an in-memory store has nothing to close)."""
    aclose = getattr(store, "aclose", None)
    if aclose is not None:
        await aclose()
