"""``SqliteCache``: a node cache in a SQLite file (stdlib sqlite3), as LangGraph's."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ._base import BaseCache, FullKey, Namespace, Row

__all__ = ("SqliteCache",)

_SCHEMA = """CREATE TABLE IF NOT EXISTS cache (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    expiry REAL,
    val BLOB NOT NULL,
    PRIMARY KEY (ns, key)
)"""


def _ns(namespace: Namespace) -> str:
    return ",".join(namespace)


class SqliteCache(BaseCache[Any]):
    """Cached node writes in the SQLite file at ``path`` (created if missing); several
    processes may share it. Close it with :meth:`close`."""

    blocking = True

    def __init__(self, *, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)

    def _get(self, keys: Sequence[FullKey], now: float) -> dict[FullKey, bytes]:
        found: dict[FullKey, bytes] = {}
        with self._lock:
            for ns, key in keys:
                row = self._conn.execute(
                    "SELECT val, expiry FROM cache WHERE ns = ? AND key = ?", (_ns(ns), key)
                ).fetchone()
                if row is None:
                    continue
                if row[1] is not None and now >= row[1]:
                    self._conn.execute("DELETE FROM cache WHERE ns = ? AND key = ?", (_ns(ns), key))
                    continue
                found[(tuple(ns), key)] = bytes(row[0])
        return found

    def _set(self, rows: Mapping[FullKey, Row]) -> None:
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO cache (ns, key, expiry, val) VALUES (?, ?, ?, ?)",
                [(_ns(ns), key, expiry, data) for (ns, key), (data, expiry) in rows.items()],
            )

    def _clear(self, namespaces: Sequence[Namespace] | None) -> None:
        with self._lock:
            if namespaces is None:
                self._conn.execute("DELETE FROM cache")
            else:
                self._conn.executemany(
                    "DELETE FROM cache WHERE ns = ?", [(_ns(ns),) for ns in namespaces]
                )

    def close(self) -> None:
        """Close the connection to the file."""
        with self._lock:
            self._conn.close()
