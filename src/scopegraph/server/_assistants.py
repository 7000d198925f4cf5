"""Assistants: a graph with its own ``config``, ``context`` and metadata, versioned.

As LangGraph's server: each served graph has a default assistant, created by the system
(``metadata.created_by = "system"``, its id ``uuid5`` of the graph's name, as LangGraph
derives it); ``POST /assistants`` creates more; ``PATCH`` writes a new version and makes it
the latest; ``POST /assistants/{id}/latest`` makes an earlier one the latest again. A run
of an assistant gets its config and context merged under the run's own
(:func:`merge_into_run`).

The assistants live in the server's store (:class:`~scopegraph.server._store.Documents`:
the SQLite file or the PostgreSQL database of the threads and runs; in scale-out mode the
shared PostgreSQL, so every process sees every change at once). Each operation is one
:data:`~scopegraph.server._store.SqlOp`, in one transaction where it writes more than one
row. A single-process server caches what it read by id (``shared=False``: only this
process writes), so that a run of an assistant costs no query.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from ._errors import BadRequestError, ConflictError, InvalidRequestError, NotFoundError
from ._graphs import BOTH_CONFIGURABLE_AND_CONTEXT, Graphs
from ._models import AssistantCreate, AssistantPatch
from ._store import (
    ASSISTANT_VERSIONS,
    ASSISTANTS,
    Documents,
    MetadataFilter,
    SqlOp,
    metadata_condition,
    one_page,
)
from ._wire import dumps, is_uuid, now_iso

__all__ = ("Assistants", "merge_into_run")

_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
"""LangGraph's namespace of the default assistants' ids (``uuid5(NS, graph_id)``)."""

_CACHE_SIZE = 1024


def default_assistant_id(graph_id: str) -> str:
    """The id of a graph's default assistant, as LangGraph derives it."""
    return str(uuid.uuid5(_NAMESPACE, graph_id))


def _synced(
    config: dict[str, Any], context: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(config, context) kept up to date with one another, as LangGraph keeps them: an
    assistant's ``config.configurable`` is its context, and the other way round (None:
    no context given)."""
    if config.get("configurable") and context:
        raise BadRequestError(BOTH_CONFIGURABLE_AND_CONTEXT)
    if config.get("configurable"):
        return config, dict(config["configurable"])
    if context:
        return {**config, "configurable": dict(context)}, context
    return config, context


def merge_into_run(assistant: Mapping[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """A run's request with its assistant's config and context under its own, as
    LangGraph's server merges them: the run's keys win, ``configurable`` merged key by key."""
    config = assistant.get("config") or {}
    if config:
        own = payload.get("config") or {}
        configurable = {**(config.get("configurable") or {}), **(own.get("configurable") or {})}
        payload["config"] = {**config, **own, "configurable": configurable}
    context = assistant.get("context") or {}
    if context:
        payload["context"] = {**context, **(payload.get("context") or {})}
    return payload


def _row_doc(body: bytes | memoryview | str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(bytes(body) if isinstance(body, memoryview) else body)
    return doc


class Assistants:
    """The server's assistants; see the module docstring."""

    def __init__(self, graphs: Graphs, docs: Documents, *, shared: bool) -> None:
        self.graphs = graphs
        self.docs = docs
        self.shared = shared
        self._cache: dict[str, dict[str, Any]] = {}
        self._ready = False
        d = docs.dialect
        self._m = d.m
        self._json = d.json
        self._contains = d.contains.format(col="metadata")
        self._substring = d.substring.format(col="name")

    # -- ids -----------------------------------------------------------------------------

    def id_of(self, assistant_id: str) -> str:
        """The canonical id of an assistant id or a graph name (its default assistant)."""
        if assistant_id in self.graphs.graphs:
            return default_assistant_id(assistant_id)
        if is_uuid(assistant_id):
            return str(uuid.UUID(assistant_id))
        self.graphs.assistant(assistant_id)  # raises: not a graph name nor an id
        raise NotFoundError(f"assistant {assistant_id!r} not found")  # pragma: no cover

    def _check_graph(self, graph_id: str) -> None:
        if graph_id not in self.graphs.graphs:
            raise NotFoundError(
                f"graph {graph_id!r} not found; the graphs of this server are "
                f"{', '.join(map(repr, self.graphs.graphs))}",
                code="GraphNotFound",
            )

    # -- the system's default assistants -------------------------------------------------

    async def setup(self) -> None:
        """Store each graph's default assistant unless it exists (as LangGraph does on
        start: one deleted is back after a restart). Done on start, else on first use
        (an app served without its lifespan)."""
        self._ready = True
        now = now_iso()
        for graph_id in self.graphs.graphs:
            doc = {
                "assistant_id": default_assistant_id(graph_id),
                "graph_id": graph_id,
                "config": {},
                "context": {},
                "metadata": {"created_by": "system"},
                "name": graph_id,
                "description": None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            await self.docs.op(functools.partial(self._insert, doc), transaction=True)

    # -- reads ---------------------------------------------------------------------------

    async def get(self, assistant_id: str) -> dict[str, Any]:
        """The assistant (its latest version); ``NotFoundError`` if there is none."""
        if not self._ready:
            await self.setup()
        aid = self.id_of(assistant_id)
        cached = self._cache.get(aid)
        if cached is not None:
            return cached
        found = await self.docs.op(lambda: self._get(aid))
        if found is None:
            raise NotFoundError(f"assistant {aid} not found")
        if not self.shared:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[aid] = found
        return found

    def _get(self, aid: str) -> SqlOp[dict[str, Any] | None]:
        found = yield f"SELECT body FROM {ASSISTANTS} WHERE assistant_id = {self._m}", (aid,)
        return _row_doc(found.rows[0][0]) if found.rows else None

    def _where(
        self, graph_id: str | None, name: str | None, metadata: MetadataFilter | None
    ) -> tuple[str, list[Any]]:
        if graph_id is not None:
            self._check_graph(graph_id)
        where = ["1 = 1"]
        params: list[Any] = []
        for condition, value in (
            (f"graph_id = {self._m}", graph_id),
            (self._substring, name or None),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        wanted = metadata_condition(self._contains, metadata)
        if wanted is not None:
            where.append(wanted[0])
            params.extend(wanted[1])
        return " AND ".join(where), params

    async def search(
        self,
        *,
        graph_id: str | None,
        name: str | None,
        metadata: MetadataFilter | None,
        limit: int,
        offset: int,
        sort_by: str | None,
        sort_order: str | None,
        select: list[str] | None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of assistants and the offset of the next page (None: this is the last),
        newest first unless ``sort_by``/``sort_order`` say otherwise."""
        if not self._ready:
            await self.setup()
        where, params = self._where(graph_id, name, metadata)
        column = sort_by or "created_at"
        if column in ("name", "graph_id"):
            column = f"lower({column})"
        order = "ASC" if (sort_order or "desc").lower() == "asc" else "DESC"
        statement = (
            f"SELECT body FROM {ASSISTANTS} WHERE {where} ORDER BY {column} {order}, "
            f"assistant_id {order} LIMIT {self._m} OFFSET {self._m}"
        )
        values = (*params, limit + 1, offset)

        def op() -> SqlOp[list[dict[str, Any]]]:
            found = yield statement, values
            return [_row_doc(body) for (body,) in found.rows]

        return one_page(await self.docs.op(op), limit, offset, select)

    async def count(
        self, *, graph_id: str | None, name: str | None, metadata: MetadataFilter | None
    ) -> int:
        """How many assistants match."""
        if not self._ready:
            await self.setup()
        where, params = self._where(graph_id, name, metadata)
        statement = f"SELECT count(*) FROM {ASSISTANTS} WHERE {where}"

        def op() -> SqlOp[int]:
            found = yield statement, tuple(params)
            return int(found.rows[0][0])

        return await self.docs.op(op)

    async def versions(
        self, assistant_id: str, metadata: MetadataFilter | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """The assistant's versions, newest first (``NotFoundError``: no such assistant)."""
        if not self._ready:
            await self.setup()
        aid = self.id_of(assistant_id)
        m = self._m
        where = f"assistant_id = {m}"
        params: list[Any] = [aid]
        wanted = metadata_condition(self._contains, metadata)
        if wanted is not None:
            where += f" AND {wanted[0]}"
            params.extend(wanted[1])
        statement = (
            f"SELECT body FROM {ASSISTANT_VERSIONS} WHERE {where} ORDER BY version DESC "
            f"LIMIT {m} OFFSET {m}"
        )

        def op() -> SqlOp[list[dict[str, Any]] | None]:
            exists = yield f"SELECT 1 FROM {ASSISTANTS} WHERE assistant_id = {m}", (aid,)
            if not exists.rows:
                return None
            found = yield statement, (*params, limit, offset)
            return [_row_doc(body) for (body,) in found.rows]

        found = await self.docs.op(op)
        if found is None:
            raise NotFoundError(f"assistant {aid} not found")
        return found

    # -- writes --------------------------------------------------------------------------

    def _insert(self, doc: dict[str, Any]) -> SqlOp[bool]:
        """Insert a new assistant and its version 1; False if the id exists."""
        m, j = self._m, self._json
        created = yield (
            f"INSERT INTO {ASSISTANTS} (assistant_id, graph_id, name, metadata, created_at, "
            f"updated_at, version, body) VALUES ({m}, {m}, {m}, {j}, {m}, {m}, {m}, {m}) "
            "ON CONFLICT (assistant_id) DO NOTHING",
            (
                doc["assistant_id"],
                doc["graph_id"],
                doc["name"],
                dumps(doc["metadata"]).decode(),
                doc["created_at"],
                doc["updated_at"],
                doc["version"],
                dumps(doc),
            ),
        )
        if created.rowcount != 1:
            return False
        yield from self._insert_version(_version_of(doc))
        return True

    def _insert_version(self, version: dict[str, Any]) -> SqlOp[None]:
        m, j = self._m, self._json
        yield (
            f"INSERT INTO {ASSISTANT_VERSIONS} (assistant_id, version, metadata, body) "
            f"VALUES ({m}, {m}, {j}, {m})",
            (
                version["assistant_id"],
                version["version"],
                dumps(version["metadata"]).decode(),
                dumps(version),
            ),
        )

    def _replace(self, doc: dict[str, Any]) -> SqlOp[None]:
        m, j = self._m, self._json
        yield (
            f"UPDATE {ASSISTANTS} SET graph_id = {m}, name = {m}, metadata = {j}, "
            f"updated_at = {m}, version = {m}, body = {m} WHERE assistant_id = {m}",
            (
                doc["graph_id"],
                doc["name"],
                dumps(doc["metadata"]).decode(),
                doc["updated_at"],
                doc["version"],
                dumps(doc),
                doc["assistant_id"],
            ),
        )

    async def create(self, body: AssistantCreate) -> dict[str, Any]:
        """A new assistant (``if_exists='do_nothing'``: the existing one, unchanged)."""
        if not self._ready:
            await self.setup()
        if body.assistant_id is not None and not is_uuid(body.assistant_id):
            raise InvalidRequestError(
                f"Invalid assistant ID {body.assistant_id!r}: must be a UUID", code="InvalidId"
            )
        self._check_graph(body.graph_id)
        config, context = _synced(dict(body.config or {}), body.context)
        now = now_iso()
        aid = str(uuid.UUID(body.assistant_id)) if body.assistant_id else str(uuid.uuid4())
        doc = {
            "assistant_id": aid,
            "graph_id": body.graph_id,
            "config": config,
            "context": context or {},
            "metadata": body.metadata or {},
            "name": body.name or "Untitled",
            "description": body.description,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }

        def op() -> SqlOp[dict[str, Any] | None]:
            if (yield from self._insert(doc)):
                return doc
            return (yield from self._get(aid))

        found = await self.docs.op(op, transaction=True)
        if found is doc:
            return doc
        if body.if_exists == "do_nothing" and found is not None:
            return found
        raise ConflictError(f"Assistant {aid} already exists")

    async def update(self, assistant_id: str, body: AssistantPatch) -> dict[str, Any]:
        """Write a new version of the assistant from the changes in ``body`` and make it
        the latest: LangGraph's ``PATCH``, where ``metadata`` is merged into the current
        one and the other fields replace theirs."""
        if not self._ready:
            await self.setup()
        aid = self.id_of(assistant_id)
        if body.graph_id is not None:
            self._check_graph(body.graph_id)
        config, context = _synced(dict(body.config or {}), body.context)
        m = self._m

        def op() -> SqlOp[dict[str, Any] | None]:
            current = yield from self._get(aid)
            if current is None:
                return None
            latest = yield (
                f"SELECT max(version) FROM {ASSISTANT_VERSIONS} WHERE assistant_id = {m}",
                (aid,),
            )
            now = now_iso()
            doc = {
                **current,
                "graph_id": body.graph_id if body.graph_id is not None else current["graph_id"],
                "config": config or current["config"],
                "context": context if context is not None else current.get("context", {}),
                "metadata": {**current["metadata"], **(body.metadata or {})},
                "name": body.name if body.name is not None else current["name"],
                "description": body.description
                if body.description is not None
                else current.get("description"),
                "version": int(latest.rows[0][0] or 0) + 1,
                "updated_at": now,
            }
            yield from self._insert_version({**_version_of(doc), "created_at": now})
            yield from self._replace(doc)
            return doc

        self._cache.pop(aid, None)
        found = await self.docs.op(op, transaction=True)
        if found is None:
            raise NotFoundError(f"Assistant {aid} not found")
        return found

    async def set_latest(self, assistant_id: str, version: int) -> dict[str, Any]:
        """Make an earlier (or later) version the assistant's latest."""
        if not self._ready:
            await self.setup()
        aid = self.id_of(assistant_id)
        m = self._m

        def op() -> SqlOp[dict[str, Any] | str]:
            current = yield from self._get(aid)
            if current is None:
                return f"Assistant {aid} not found"
            found = yield (
                f"SELECT body FROM {ASSISTANT_VERSIONS} WHERE assistant_id = {m} AND version = {m}",
                (aid, version),
            )
            if not found.rows:
                return f"Version {version} not found for assistant {aid}"
            chosen = _row_doc(found.rows[0][0])
            doc = {
                **current,
                "graph_id": chosen["graph_id"],
                "config": chosen["config"],
                "context": chosen.get("context", {}),
                "metadata": chosen["metadata"],
                "name": chosen["name"],
                "description": chosen.get("description"),
                "version": version,
                "updated_at": now_iso(),
            }
            yield from self._replace(doc)
            return doc

        self._cache.pop(aid, None)
        found = await self.docs.op(op, transaction=True)
        if isinstance(found, str):
            raise NotFoundError(found)
        return found

    async def delete(self, assistant_id: str) -> str:
        """Delete the assistant and every version of it; its id."""
        if not self._ready:
            await self.setup()
        aid = self.id_of(assistant_id)
        m = self._m

        def op() -> SqlOp[bool]:
            gone = yield f"DELETE FROM {ASSISTANTS} WHERE assistant_id = {m}", (aid,)
            yield f"DELETE FROM {ASSISTANT_VERSIONS} WHERE assistant_id = {m}", (aid,)
            return bool(gone.rowcount)

        self._cache.pop(aid, None)
        if not await self.docs.op(op, transaction=True):
            raise NotFoundError(f"Assistant with ID {aid} not found")
        self._cache.pop(aid, None)
        return aid


def _version_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An assistant's version as ``/assistants/{id}/versions`` shows it."""
    return {
        "assistant_id": doc["assistant_id"],
        "version": doc["version"],
        "graph_id": doc["graph_id"],
        "config": doc["config"],
        "context": doc.get("context", {}),
        "metadata": doc["metadata"],
        "created_at": doc["created_at"],
        "name": doc["name"],
        "description": doc.get("description"),
    }
