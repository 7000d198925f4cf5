"""``/runs/crons/...`` and ``/threads/{thread_id}/runs/crons``: create, get, update,
delete, search and count crons (:mod:`scopegraph.server._crons`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from .._auth import NOTHING
from .._http import JSONResponse, page_response
from .._models import CronCount, CronCreate, CronPatch, CronSearch
from .._webhook import check_url
from ._deps import access_of, authorize, backend_of, searched, settings_of

__all__ = ("router",)

router = APIRouter(default_response_class=JSONResponse)


def _check_webhook(request: Request, url: str | None) -> None:
    if url:
        check_url(url, allow_loopback=settings_of(request).webhook_loopback)


@router.post("/runs/crons")
async def create_cron(body: CronCreate, request: Request) -> dict[str, Any]:
    _check_webhook(request, body.webhook)
    return await _create(request, body, None)


@router.post("/threads/{thread_id}/runs/crons")
async def create_thread_cron(thread_id: str, body: CronCreate, request: Request) -> dict[str, Any]:
    _check_webhook(request, body.webhook)
    thread = await backend_of(request).thread(thread_id)  # 404 unless it exists
    return await _create(request, body, thread["thread_id"])


async def _create(request: Request, body: CronCreate, thread_id: str | None) -> dict[str, Any]:
    """A cron; with custom auth, as its handlers let it be, and its user's."""
    backend = backend_of(request)
    access = access_of(request)
    if access is None:
        return await backend.crons.create(body, thread_id)
    body = await access.create_cron(backend, body, thread_id)
    return await backend.crons.create(body, thread_id, user_id=access.ctx.user.identity)


@router.post("/runs/crons/search")
async def search_crons(
    request: Request, body: Annotated[CronSearch | None, Body()] = None
) -> Response:
    body = body or CronSearch()
    metadata = await searched(
        request,
        "crons",
        body.metadata,
        assistant_id=body.assistant_id,
        thread_id=body.thread_id,
        limit=body.limit,
        offset=body.offset,
    )
    if metadata is NOTHING:
        return page_response([], None, body.offset)
    found, following = await backend_of(request).crons.search(
        assistant_id=body.assistant_id,
        thread_id=body.thread_id,
        enabled=body.enabled,
        metadata=metadata,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
        select=list(body.select) if body.select else None,
    )
    return page_response(found, following, body.offset)


@router.post("/runs/crons/count")
async def count_crons(request: Request, body: Annotated[CronCount | None, Body()] = None) -> int:
    body = body or CronCount()
    metadata = await searched(
        request, "crons", body.metadata, assistant_id=body.assistant_id, thread_id=body.thread_id
    )
    if metadata is NOTHING:
        return 0
    return await backend_of(request).crons.count(
        assistant_id=body.assistant_id, thread_id=body.thread_id, metadata=metadata
    )


@router.get("/runs/crons/{cron_id}")
async def get_cron(cron_id: str, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    await authorize(request, "crons", cron_id, "read")
    return await backend.crons.get(cron_id)


@router.patch("/runs/crons/{cron_id}")
async def patch_cron(cron_id: str, body: CronPatch, request: Request) -> dict[str, Any]:
    _check_webhook(request, body.webhook)
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        value = {"cron_id": cron_id, "payload": body.model_dump(exclude_unset=True)}
        if body.schedule is not None:
            value["schedule"] = body.schedule
        await access.cron(backend, cron_id, "update", value)
    return await backend.crons.update(cron_id, body)


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(cron_id: str, request: Request) -> Response:
    backend = backend_of(request)
    await authorize(request, "crons", cron_id, "delete")
    await backend.crons.delete(cron_id)
    return Response(status_code=204)
