"""``/threads/...``: threads (create, search, count, copy, prune), their state and their
history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import Response

from .._auth import NOTHING
from .._domain import EventStream
from .._errors import BadRequestError, InvalidRequestError
from .._graphs import check_id
from .._http import JSONResponse, event_stream_response, page_response
from .._models import (
    HistoryQuery,
    StateCheckpoint,
    StateUpdate,
    ThreadCount,
    ThreadCreate,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
)
from .._store import MetadataFilter
from .._thread_search import ThreadQuery, shape_threads
from .._thread_stream import thread_frames, thread_stream_modes
from .._wire import check_state_select, is_uuid, select_state
from ._deps import access_of, authorize, backend_of, searched, settings_of

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
    metadata = await searched(
        request, "threads", body.metadata, values=body.values or {}, status=body.status
    )
    if metadata is NOTHING:
        return 0
    return await backend_of(request).count_threads(_query(body, metadata))


def _thread_id(value: str) -> str:
    if not is_uuid(value):  # 400, as LangGraph's server
        raise BadRequestError(f"Invalid thread ID {value}: ids takes thread ids (UUIDs)")
    return str(uuid.UUID(value))


def _query(body: ThreadCount, metadata: MetadataFilter | None) -> ThreadQuery:
    """The search or count asked for (``metadata``: the filter after custom auth's)."""
    if isinstance(body, ThreadSearch):
        ids = None if body.ids is None else tuple(_thread_id(t) for t in body.ids)
        return ThreadQuery(
            metadata=metadata,
            status=body.status,
            ids=ids,
            values=body.values,
            sort_by=body.sort_by or "created_at",
            descending=body.sort_order != "asc",
        )
    return ThreadQuery(metadata=metadata, status=body.status, values=body.values)


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
) -> Response:
    body = body or ThreadSearch()
    backend = backend_of(request)
    metadata = await searched(
        request,
        "threads",
        body.metadata,
        values=body.values or {},
        status=body.status,
        limit=body.limit,
        offset=body.offset,
    )
    if metadata is NOTHING:
        return page_response([], None, body.offset)
    found, following = await backend.search_threads(_query(body, metadata), body.limit, body.offset)
    shaped = shape_threads(found, list(body.select or ()), body.extract)
    return page_response(shaped, following, body.offset)


@router.get("/{thread_id}")
async def get_thread(thread_id: str, request: Request, include: str | None = None) -> Any:
    """``include=ttl`` (the SDK's ``include=["ttl"]``, comma-separated): with the thread's
    TTL, as LangGraph's server (other names are ignored, as there)."""
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.get_thread(thread_id)
    if "ttl" in {name.strip() for name in (include or "").split(",")}:
        ttl = await backend.ttls.get(thread["thread_id"])
        if ttl is not None:
            thread = {**thread, "ttl": ttl}
    return thread


@router.patch("/{thread_id}")
async def patch_thread(
    thread_id: str,
    body: ThreadPatch,
    request: Request,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    backend = backend_of(request)
    metadata = body.metadata or {}
    access = access_of(request)
    if access is not None:
        value: dict[str, Any] = {"thread_id": thread_id, "metadata": dict(metadata)}
        await access.thread(backend, thread_id, "update", value)
        metadata = value.get("metadata") or {}
    thread = await backend.patch_thread(thread_id, metadata, ttl=body.ttl_spec())
    if prefer == "return=minimal":  # the SDK's return_minimal: no body, as LangGraph's
        return Response(status_code=204)
    return JSONResponse(thread)


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


Subgraphs = Annotated[bool, Query(description="With each subgraph task's state.")]
Select = Annotated[
    list[str] | None,
    Query(description="The fields to return (``values.<key>``: one key of the values)."),
]


def _select(select: list[str] | None) -> list[str] | None:
    try:
        return check_state_select(select)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


@router.get("/{thread_id}/state")
async def get_state(
    thread_id: str, request: Request, subgraphs: Subgraphs = False, select: Select = None
) -> dict[str, Any]:
    fields = _select(select)
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)
    return select_state(await backend.graphs.state(thread, None, subgraphs=subgraphs), fields)


@router.get("/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: str,
    checkpoint_id: str,
    request: Request,
    subgraphs: Subgraphs = False,
    select: Select = None,
) -> dict[str, Any]:
    fields = _select(select)
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)
    state = await backend.graphs.state(thread, checkpoint_id, subgraphs=subgraphs)
    return select_state(state, fields)


@router.post("/{thread_id}/state/checkpoint")
async def get_state_checkpoint(
    thread_id: str, body: StateCheckpoint, request: Request
) -> dict[str, Any]:
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)
    checkpoint_id = body.checkpoint.get("checkpoint_id")
    state = await backend.graphs.state(thread, checkpoint_id, subgraphs=body.subgraphs)
    return select_state(state, body.select)


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
    found = await backend.graphs.history(
        thread,
        body.limit,
        body.before,
        body.metadata,
        body.checkpoint.configurable() if body.checkpoint else None,
    )
    return [select_state(state, body.select) for state in found]


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


# -- a thread's stream -------------------------------------------------------------------


@router.get("/{thread_id}/stream")
async def join_thread_stream(
    thread_id: str,
    request: Request,
    stream_modes: str | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """The thread's runs' events (:mod:`scopegraph.server._thread_stream`)."""
    lifecycle = thread_stream_modes(stream_modes, last_event_id)
    backend = backend_of(request)
    await authorize(request, "threads", thread_id, "read")
    thread = await backend.thread(thread_id)  # 404 unless it exists
    tid = thread["thread_id"]
    frames = thread_frames(backend, tid, lifecycle=lifecycle)
    return event_stream_response(EventStream(frames, f"/threads/{tid}"), settings_of(request))
