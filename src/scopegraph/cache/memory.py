"""``InMemoryCache``: a node cache in this process's memory (LangGraph's)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ._base import BaseCache, FullKey, Namespace, Row

__all__ = ("InMemoryCache",)


class InMemoryCache(BaseCache[Any]):
    """Cached node writes in a dict; safe to share between threads and runs."""

    def __init__(self) -> None:
        self._rows: dict[Namespace, dict[str, Row]] = {}
        self._lock = threading.Lock()

    def _get(self, keys: Sequence[FullKey], now: float) -> dict[FullKey, bytes]:
        found: dict[FullKey, bytes] = {}
        with self._lock:
            for ns, key in keys:
                rows = self._rows.get(tuple(ns))
                row = None if rows is None else rows.get(key)
                if row is None:
                    continue
                data, expiry = row
                if expiry is not None and now >= expiry:
                    del rows[key]  # type: ignore[union-attr]
                    continue
                found[(tuple(ns), key)] = data
        return found

    def _set(self, rows: Mapping[FullKey, Row]) -> None:
        with self._lock:
            for (ns, key), row in rows.items():
                self._rows.setdefault(tuple(ns), {})[key] = row

    def _clear(self, namespaces: Sequence[Namespace] | None) -> None:
        with self._lock:
            if namespaces is None:
                self._rows.clear()
            else:
                for ns in namespaces:
                    self._rows.pop(tuple(ns), None)
