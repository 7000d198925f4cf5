"""``/threads/...``: threads (create, search, count, copy, prune), their state and their
history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from .._auth import NOTHING
from .._graphs import check_id
from .._http import JSONResponse
from .._models import (
    HistoryQuery,
    StateCheckpoint,
    StateUpdate,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
    refuse_unsupported,
)
from ._deps import access_of, authorize, backend_of, searched

__all__ = ("router",)

router = APIRouter(prefix="/threads", default_response_class=JSONResponse)


@router.post("")
async def create_thread(
    request: Request, body: Annotated[ThreadCreate | None, Body()] = None
) -> Any:
    body = body or ThreadCreate()
    backend = backend_of(request)
    metadata = body.metadata
    access = access_of(request)
    if access is not None:
        metadata = await access.create_thread(backend, body.thread_id, metadata, body.if_exists)
    return await backend.create_thread(
        body.thread_id,
        metadata,
        body.if_exists,
        ttl=body.ttl_spec(),
        supersteps=body.supersteps or None,
    )


@router.post("/count")
async def count_threads(
    request: Request, body: Annotated[ThreadCount | None, Body()] = None
) -> int:
    body = body or ThreadCount()
    metadata = await searched(request, "threads", body.metadata, values={}, status=body.status)
    if metadata is NOTHING:
        return 0
    return await backend_of(request).count_threads(metadata, body.status)


@router.post("/prune")
async def prune_threads(body: ThreadPrune, request: Request) -> dict[str, Any]:
    thread_ids = [check_id(tid, "thread_id") for tid in body.thread_ids]  # all, before any
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        await access.prune(backend, thread_ids)
    pruned = await backend.prune_threads(thread_ids, body.strategy)
    return {"pruned_count": pruned}


@router.post("/search")
async def search_threads(
    request: Request, body: Annotated[ThreadSearch | None, Body()] = None
) -> list[dict[str, Any]]:
    body = body or ThreadSearch()
    backend = backend_of(request)
    metadata = await searched(
        request,
        "threads",
        body.metadata,
        values={},
        status=body.status,
        limit=body.limit,
        offset=body.offset,
    )
    if metadata is NOTHING:
        return []
    return await backend.search_threads(metadata, body.status, body.limit, body.offset)


@router.get("/{thread_id}")
async def get_thread(thread_id: str, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    return await backend.get_thread(thread_id)


@router.patch("/{thread_id}")
async def patch_thread(thread_id: str, body: ThreadPatch, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    metadata = body.metadata or {}
    access = access_of(request)
    if access is not None:
        value: dict[str, Any] = {"thread_id": thread_id, "metadata": dict(metadata)}
        await access.thread(backend, thread_id, "update", value)
        metadata = value.get("metadata") or {}
    return await backend.patch_thread(thread_id, metadata, ttl=body.ttl_spec())


@router.post("/{thread_id}/copy")
async def copy_thread(thread_id: str, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:  # LangGraph's: read the source, and may create a thread
        await access.thread(backend, thread_id, "read")
        await access.check("threads", "create", {"thread_id": thread_id})
    return await backend.copy_thread(thread_id)


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread_id: str, request: Request) -> Response:
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "delete")
    await backend.delete_thread(thread_id)
    return Response(status_code=204)


_NOT_SUPPORTED = "Not supported by this server: only the default is accepted (else 422)."
Subgraphs = Annotated[bool, Query(description=_NOT_SUPPORTED)]
Select = Annotated[list[str] | None, Query(description=_NOT_SUPPORTED)]


@router.get("/{thread_id}/state")
async def get_state(
    thread_id: str, request: Request, subgraphs: Subgraphs = False, select: Select = None
) -> dict[str, Any]:
    refuse_unsupported("subgraphs", subgraphs, False)
    refuse_unsupported("select", select)
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    return await backend.graphs.state(await backend.thread(thread_id), None)


@router.get("/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: str,
    checkpoint_id: str,
    request: Request,
    subgraphs: Subgraphs = False,
    select: Select = None,
) -> dict[str, Any]:
    refuse_unsupported("subgraphs", subgraphs, False)
    refuse_unsupported("select", select)
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    return await backend.graphs.state(await backend.thread(thread_id), checkpoint_id)


@router.post("/{thread_id}/state/checkpoint")
async def get_state_checkpoint(
    thread_id: str, body: StateCheckpoint, request: Request
) -> dict[str, Any]:
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)
    return await backend.graphs.state(thread, body.checkpoint.get("checkpoint_id"))


@router.post("/{thread_id}/state")
async def update_state(thread_id: str, body: StateUpdate, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        await access.update_state(backend, thread_id)
    thread = await backend.thread(thread_id)
    return await backend.graphs.update_state(thread, body, busy=backend.thread_busy(thread))


@router.post("/{thread_id}/history")
async def post_history(
    thread_id: str, request: Request, body: Annotated[HistoryQuery | None, Body()] = None
) -> list[Any]:
    body = body or HistoryQuery()
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)
    return await backend.graphs.history(thread, body.limit, body.before, body.metadata)


@router.get("/{thread_id}/history")
async def get_history(
    thread_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    before: str | None = None,
) -> list[Any]:
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)
    return await backend.graphs.history(thread, limit, before, None)
