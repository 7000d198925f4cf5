"""The cache interface (LangGraph's ``BaseCache``): sync and async twins written once.

A cache implements three row operations (``_get``, ``_set``, ``_clear``) on encoded
values; :class:`BaseCache` encodes with the checkpoints' codec, computes expiry times and
provides ``get``/``set``/``clear`` and their async twins. A cache whose operations block
(``blocking = True``: a file, a socket) runs them in a worker thread from async code.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import anyio.to_thread

from ..checkpoint._serde import dumps, loads

__all__ = ("BaseCache", "FullKey", "Namespace")

ValueT = TypeVar("ValueT")
Namespace = tuple[str, ...]
FullKey = tuple[Namespace, str]
Row = tuple[bytes, float | None]
"""An encoded value and when it expires (Unix time), or None: never."""


class BaseCache(ABC, Generic[ValueT]):
    """Where cached node writes are kept, by namespace and key, each with a ttl."""

    blocking: ClassVar[bool] = False
    """Whether the row operations block (async calls then run them in a thread)."""

    @abstractmethod
    def _get(self, keys: Sequence[FullKey], now: float) -> dict[FullKey, bytes]:
        """The encoded values of ``keys`` that exist and have not expired at ``now``."""

    @abstractmethod
    def _set(self, rows: Mapping[FullKey, Row]) -> None: ...

    @abstractmethod
    def _clear(self, namespaces: Sequence[Namespace] | None) -> None: ...

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The cached values of those ``keys`` that are cached and not expired."""
        if not keys:
            return {}
        found = self._get(keys, time.time())
        return {key: loads(data) for key, data in found.items()}

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Cache each value for its ttl in seconds (None: no expiry)."""
        now = time.time()
        rows = {
            key: (
                dumps(value, where=f"the cached value {key!r}"),
                None if ttl is None else now + ttl,
            )
            for key, (value, ttl) in pairs.items()
        }
        self._set(rows)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the values of ``namespaces``; of every namespace when None."""
        self._clear(namespaces)

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        found: dict[FullKey, ValueT] = await self._call(self.get, keys)
        return found

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        await self._call(self.set, pairs)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        await self._call(self.clear, namespaces)

    async def _call(self, fn: Any, arg: Any) -> Any:
        if self.blocking:
            return await anyio.to_thread.run_sync(fn, arg)
        return fn(arg)
