"""Searching and counting threads as LangGraph's server does, for either backend.

A search filters on ``metadata``, ``status``, ``ids`` and ``values`` (containment, as
``metadata``), sorts by one of LangGraph's keys (``created_at`` newest first by default)
and pages; ``select`` keeps some fields and ``extract`` adds values read at paths.

Each backend decides in SQL what its tables know (:class:`Pushdown`): the metadata, the
ids, the status it stores and the columns it sorts on. What only the thread's checkpoint
knows (its ``values``, its ``state_updated_at``, and in scale-out whether it is
``idle`` or ``interrupted``) is decided here on the threads as
the API shows them, reading the SQL-filtered candidates page by page: a ``values``
filter reads candidates until the page is full, a sort on such a key reads them all.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from ._store import MetadataFilter, json_contains

__all__ = ("Pushdown", "ThreadQuery", "count_threads", "search_threads", "shape_threads")

SCAN_PAGE = 200
"""Candidates read at a time when a filter or a sort is decided here."""


@dataclasses.dataclass(frozen=True)
class ThreadQuery:
    """Which threads, in which order (LangGraph's ``threads.search``/``count`` filters)."""

    metadata: MetadataFilter | None = None
    status: str | None = None
    ids: tuple[str, ...] | None = None
    values: dict[str, Any] | None = None
    sort_by: str = "created_at"
    descending: bool = True


@dataclasses.dataclass(frozen=True)
class Pushdown:
    """What a backend decides in SQL and how it reads and shows its threads.

    ``fetch(query, limit, offset)`` returns the stored threads that match ``query``'s
    metadata and ids, and its status as far as the backend's tables tell (the statuses
    in ``statuses`` exactly; another status: a superset), in ``query``'s order (one of
    ``sorts``); ``show`` makes a stored thread the API's record (with its values);
    ``count`` counts in SQL (only asked for a query decided there entirely)."""

    fetch: Callable[[ThreadQuery, int, int], Awaitable[list[Any]]]
    show: Callable[[Any], Awaitable[dict[str, Any]]]
    count: Callable[[ThreadQuery], Awaitable[int]]
    sorts: frozenset[str]
    statuses: frozenset[str | None]


def _in_sql(query: ThreadQuery, how: Pushdown) -> bool:
    return not query.values and query.status in how.statuses


def _matches(query: ThreadQuery, thread: Mapping[str, Any]) -> bool:
    if query.status is not None and thread.get("status") != query.status:
        return False
    return not query.values or json_contains(thread.get("values"), query.values)


async def _candidates(query: ThreadQuery, how: Pushdown) -> AsyncIterator[dict[str, Any]]:
    """The threads that match ``query`` (shown), in SQL order, read page by page."""
    start = 0
    while True:
        rows = await how.fetch(query, SCAN_PAGE, start)
        for row in rows:
            shown = await how.show(row)
            if _matches(query, shown):
                yield shown
        if len(rows) < SCAN_PAGE:
            return
        start += SCAN_PAGE


async def search_threads(
    query: ThreadQuery, limit: int, offset: int, how: Pushdown
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of threads and the next page's offset (None: this is the last)."""
    if query.sort_by not in how.sorts:
        # the key is known only once shown: read every candidate, then sort and page
        in_sql = dataclasses.replace(query, sort_by="created_at")
        found = [t async for t in _candidates(in_sql, how)]
        found.sort(
            key=lambda t: (str(t.get(query.sort_by) or ""), str(t["thread_id"])),
            reverse=query.descending,
        )
        window = found[offset : offset + limit + 1]
    elif _in_sql(query, how):
        rows = await how.fetch(query, limit + 1, offset)  # one more: is there a next page?
        following = offset + limit if len(rows) > limit else None
        return [await how.show(row) for row in rows[:limit]], following
    else:
        window, skip = [], offset
        async for thread in _candidates(query, how):
            if skip:
                skip -= 1
                continue
            window.append(thread)
            if len(window) > limit:
                break
    following = offset + limit if len(window) > limit else None
    return window[:limit], following


async def count_threads(query: ThreadQuery, how: Pushdown) -> int:
    """How many threads match ``query``."""
    if _in_sql(query, how):
        return await how.count(query)
    return sum([1 async for _ in _candidates(query, how)])


_PATH_PART = re.compile(r"\.|\[")


def _extract(thread: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``values.messages[-1].content``) in the thread, or None
    where the path leads nowhere (as LangGraph's server answers)."""
    root, *parts = _PATH_PART.split(path)
    current: Any = thread.get(root)
    for part in parts:
        if current is None:
            return None
        if not part:
            continue
        if part.endswith("]"):
            try:
                current = current[int(part[:-1])] if isinstance(current, list) else None
            except (ValueError, IndexError):
                return None
        else:
            current = current.get(part) if isinstance(current, dict) else None
    return current


def shape_threads(
    threads: list[dict[str, Any]], select: list[str] | None, extract: dict[str, str] | None
) -> list[dict[str, Any]]:
    """The threads with only the ``select`` fields (all without it) and, with
    ``extract``, an ``extracted`` field: ``{alias: the value at its path}``."""
    shaped = []
    for thread in threads:
        out = {k: v for k, v in thread.items() if k in select} if select else dict(thread)
        if extract:
            out["extracted"] = {alias: _extract(thread, path) for alias, path in extract.items()}
        shaped.append(out)
    return shaped
