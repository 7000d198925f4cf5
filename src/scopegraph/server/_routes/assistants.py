"""``/assistants/...``: create, read, search, count, update (a new version), delete, the
versions, the latest version; an assistant's graph, schemas and subgraphs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from .._auth import NOTHING
from .._errors import InvalidRequestError
from .._graphs import open_graph
from .._http import JSONResponse, page_response
from .._models import (
    AssistantCount,
    AssistantCreate,
    AssistantLatest,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionsQuery,
)
from .._wire import graph_json, schemas_json
from ._deps import access_of, authorize, backend_of, searched

__all__ = ("router",)

router = APIRouter(prefix="/assistants", default_response_class=JSONResponse)


@router.post("")
async def create_assistant(body: AssistantCreate, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        body = await access.create_assistant(backend, body)
    return await backend.assistants.create(body)


@router.post("/search")
async def search_assistants(
    request: Request, body: Annotated[AssistantSearch | None, Body()] = None
) -> Response:
    body = body or AssistantSearch()
    metadata = await searched(
        request,
        "assistants",
        body.metadata,
        graph_id=body.graph_id,
        limit=body.limit,
        offset=body.offset,
    )
    if metadata is NOTHING:
        return page_response([], None, body.offset)
    found, following = await backend_of(request).assistants.search(
        graph_id=body.graph_id,
        name=body.name,
        metadata=metadata,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
        select=list(body.select) if body.select else None,
    )
    return page_response(found, following, body.offset)


@router.post("/count")
async def count_assistants(
    request: Request, body: Annotated[AssistantCount | None, Body()] = None
) -> int:
    body = body or AssistantCount()
    metadata = await searched(request, "assistants", body.metadata, graph_id=body.graph_id)
    if metadata is NOTHING:
        return 0
    return await backend_of(request).assistants.count(
        graph_id=body.graph_id, name=body.name, metadata=metadata
    )


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    await authorize(request, "assistants", assistant_id, "read")
    return await backend.assistants.get(assistant_id)


@router.patch("/{assistant_id}")
async def patch_assistant(
    assistant_id: str, request: Request, body: Annotated[AssistantPatch | None, Body()] = None
) -> dict[str, Any]:
    body = body or AssistantPatch()
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        body = await access.update_assistant(backend, assistant_id, body)
    return await backend.assistants.update(assistant_id, body)


@router.delete("/{assistant_id}", status_code=204)
async def delete_assistant(
    assistant_id: str, request: Request, delete_threads: bool = False
) -> Response:
    backend = backend_of(request)
    await authorize(request, "assistants", assistant_id, "delete")
    deleted = await backend.assistants.delete(assistant_id)
    await backend.assistant_deleted(deleted, delete_threads=delete_threads)
    return Response(status_code=204)


@router.post("/{assistant_id}/versions")
async def get_versions(
    assistant_id: str,
    request: Request,
    body: Annotated[AssistantVersionsQuery | None, Body()] = None,
) -> list[dict[str, Any]]:
    body = body or AssistantVersionsQuery()
    backend = backend_of(request)
    # LangGraph's: the read filter applies to each version
    metadata = await searched(
        request, "assistants", body.metadata, action="read", assistant_id=assistant_id
    )
    if metadata is NOTHING:
        return []
    return await backend.assistants.versions(assistant_id, metadata, body.limit, body.offset)


@router.post("/{assistant_id}/latest")
async def set_latest(assistant_id: str, body: AssistantLatest, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        value = {"assistant_id": assistant_id, "version": body.version}
        await access.assistant(backend, assistant_id, "update", value)
    return await backend.assistants.set_latest(assistant_id, body.version)


@contextlib.asynccontextmanager
async def _graph_of(request: Request, assistant_id: str) -> AsyncIterator[tuple[str, Any]]:
    """The assistant's graph (a graph factory's made for the assistant's config)."""
    backend = backend_of(request)
    await authorize(request, "assistants", assistant_id, "read")
    assistant = await backend.assistants.get(assistant_id)
    graph_id = assistant["graph_id"]
    made = open_graph(
        backend.graphs.graphs[graph_id], assistant.get("config"), access="assistants.read"
    )
    async with made as graph:
        yield graph_id, graph


@router.get("/{assistant_id}/graph")
async def get_graph(assistant_id: str, request: Request, xray: str | None = None) -> dict[str, Any]:
    depth = _xray(xray)
    async with _graph_of(request, assistant_id) as (_, graph):
        if not depth:
            return graph_json(graph)
        # subgraphs drawn inline, as LangGraph's server draws them (its drawing's JSON)
        drawn: dict[str, Any] = graph.get_graph(xray=depth).to_json()
    for node in drawn.get("nodes", []):
        if isinstance(node.get("data"), dict):
            node["data"].pop("id", None)
    return drawn


def _xray(value: str | None) -> bool | int:
    """LangGraph's ``xray``: true (every level), false, or a number of levels (>= 1)."""
    if not value or value in ("false", "False"):
        return False
    if value in ("true", "True"):
        return True
    try:
        depth = int(value)
    except ValueError:
        depth = 0
    if depth <= 0:
        raise InvalidRequestError(
            f"Invalid xray value {value[:20]!r}: use true, false or a number of levels >= 1"
        )
    return depth


@router.get("/{assistant_id}/schemas")
async def get_schemas(assistant_id: str, request: Request) -> dict[str, Any]:
    async with _graph_of(request, assistant_id) as (graph_id, graph):
        return schemas_json(graph_id, graph)


@router.get("/{assistant_id}/subgraphs")
async def get_subgraphs(
    assistant_id: str, request: Request, recurse: bool = False
) -> dict[str, Any]:
    return await _subgraphs(request, assistant_id, None, recurse)


@router.get("/{assistant_id}/subgraphs/{namespace}")
async def get_subgraphs_at(
    assistant_id: str, namespace: str, request: Request, recurse: bool = False
) -> dict[str, Any]:
    return await _subgraphs(request, assistant_id, namespace, recurse)


async def _subgraphs(
    request: Request, assistant_id: str, namespace: str | None, recurse: bool
) -> dict[str, Any]:
    """LangGraph's answer: ``{namespace: the subgraph's schemas}`` for the nodes that
    run a graph (``namespace``: only that one; ``recurse``: nested ones too)."""
    async with _graph_of(request, assistant_id) as (graph_id, graph):
        found = getattr(graph, "aget_subgraphs", None)
        if found is None:  # a bridged LangGraph graph without the method
            return {}
        out: dict[str, Any] = {}
        async for ns, subgraph in found(namespace=namespace, recurse=recurse):
            schemas = schemas_json(graph_id, subgraph)
            schemas.pop("graph_id")
            out[ns] = schemas
        return out
