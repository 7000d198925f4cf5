"""Node caches: where ``CachePolicy`` nodes keep their results (LangGraph's
``langgraph.cache``).

``graph.compile(cache=InMemoryCache())`` (from :mod:`scopegraph.cache.memory`) or
``SqliteCache(path=...)`` (from :mod:`scopegraph.cache.sqlite`, a file that outlives the
process); a node added with ``add_node(..., cache_policy=CachePolicy())`` then runs once
per distinct input (and ``ttl``), and later runs reuse its writes. Values are stored with
the checkpoints' codec (no pickle).
"""

from __future__ import annotations

from ._base import BaseCache as BaseCache
from ._base import FullKey as FullKey
from ._base import Namespace as Namespace

__all__ = ("BaseCache", "FullKey", "Namespace")
