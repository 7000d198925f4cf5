"""``/assistants/...``: one assistant per served graph."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .._http import JSONResponse
from .._models import AssistantSearch
from .._wire import graph_json, schemas_json
from ._deps import backend_of

__all__ = ("router",)

router = APIRouter(prefix="/assistants", default_response_class=JSONResponse)


@router.post("/search")
async def search_assistants(body: AssistantSearch, request: Request) -> list[dict[str, Any]]:
    found = backend_of(request).graphs.search_assistants(body.graph_id)
    return found[body.offset : body.offset + body.limit]


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, request: Request) -> dict[str, Any]:
    graphs = backend_of(request).graphs
    return graphs.assistant_json(*graphs.assistant(assistant_id))


@router.get("/{assistant_id}/graph")
async def get_graph(
    assistant_id: str, request: Request, xray: bool | int = False
) -> dict[str, Any]:
    _, graph = backend_of(request).graphs.graph_of_assistant(assistant_id)
    return graph_json(graph)


@router.get("/{assistant_id}/schemas")
async def get_schemas(assistant_id: str, request: Request) -> dict[str, Any]:
    graph_id, graph = backend_of(request).graphs.graph_of_assistant(assistant_id)
    return schemas_json(graph_id, graph)


@router.get("/{assistant_id}/subgraphs")
async def get_subgraphs(assistant_id: str, request: Request) -> dict[str, Any]:
    backend_of(request).graphs.assistant(assistant_id)
    return {}
