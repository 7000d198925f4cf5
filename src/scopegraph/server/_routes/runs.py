"""``/threads/{thread_id}/runs/...`` and the stateless ``/runs/...``: create (plain,
streamed, waited for, a batch), list, get, delete, join, join the stream, cancel (one,
or many)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from .._domain import run_location
from .._http import JSONResponse, event_stream_response
from .._models import RunCreate, RunField, RunsCancel, RunStatus, stream_filter
from ._deps import access_of, authorize_run, authorized_run, backend_of, settings_of

__all__ = ("router",)

router = APIRouter(default_response_class=JSONResponse)


async def _create(request: Request, thread_id: str | None, body: RunCreate) -> Response:
    backend = backend_of(request)
    body = await authorized_run(request, backend, thread_id, body)
    run = await backend.create_run(thread_id, body)
    location = run_location(run["thread_id"], run["run_id"])
    return JSONResponse(run, headers={"Content-Location": location})


async def _stream(request: Request, thread_id: str | None, body: RunCreate) -> Response:
    backend = backend_of(request)
    stream = await backend.stream_run(
        thread_id, await authorized_run(request, backend, thread_id, body)
    )
    return event_stream_response(stream, settings_of(request))


async def _wait(request: Request, thread_id: str | None, body: RunCreate) -> Response:
    backend = backend_of(request)
    body = await authorized_run(request, backend, thread_id, body)
    values, location = await backend.wait_run(thread_id, body)
    return JSONResponse(values, headers={"Content-Location": location})


@router.post("/threads/{thread_id}/runs")
async def create_run(thread_id: str, body: RunCreate, request: Request) -> Response:
    return await _create(request, thread_id, body)


@router.post("/runs")
async def create_stateless_run(body: RunCreate, request: Request) -> Response:
    return await _create(request, None, body)


@router.post("/runs/batch")
async def create_run_batch(body: list[RunCreate], request: Request) -> list[dict[str, Any]]:
    """Stateless runs, created in order (as LangGraph's server: a list of their records)."""
    backend = backend_of(request)
    return [
        await backend.create_run(None, await authorized_run(request, backend, None, run))
        for run in body
    ]


@router.post("/runs/cancel", status_code=204)
async def cancel_runs(
    body: RunsCancel,
    request: Request,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:
        value = {
            "thread_id": body.thread_id,
            "action": action,
            "metadata": {"run_ids": body.run_ids, "status": body.status},
        }
        await access.cancel_many(backend, body.thread_id, value)
    await backend.cancel_runs(
        thread_id=body.thread_id, run_ids=body.run_ids, status=body.status, action=action
    )
    return Response(status_code=204)


@router.post("/threads/{thread_id}/runs/stream")
async def stream_run(thread_id: str, body: RunCreate, request: Request) -> Response:
    return await _stream(request, thread_id, body)


@router.post("/runs/stream")
async def stream_stateless_run(body: RunCreate, request: Request) -> Response:
    return await _stream(request, None, body)


@router.post("/threads/{thread_id}/runs/wait")
async def wait_run(thread_id: str, body: RunCreate, request: Request) -> Response:
    return await _wait(request, thread_id, body)


@router.post("/runs/wait")
async def wait_stateless_run(body: RunCreate, request: Request) -> Response:
    return await _wait(request, None, body)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: RunStatus | None = None,
    select: Annotated[
        list[RunField] | None,
        Query(description="The fields to return (all without it)."),
    ] = None,
) -> list[dict[str, Any]]:
    backend = backend_of(request)
    access = access_of(request)
    if access is not None:  # LangGraph's: the thread (read), then its runs (search)
        await access.thread(backend, thread_id, "read")
        await access.thread(backend, thread_id, "search", {"thread_id": thread_id, "metadata": {}})
    runs = await backend.list_runs(thread_id, limit, offset, status)
    if select:
        return [{k: v for k, v in run.items() if k in select} for run in runs]
    return runs


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: str, run_id: str, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    await authorize_run(request, thread_id, run_id, "read")
    return await backend.get_run(thread_id, run_id)


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: str, run_id: str, request: Request) -> Response:
    backend = backend_of(request)
    await authorize_run(request, thread_id, run_id, "delete")
    await backend.delete_run(thread_id, run_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: str, run_id: str, request: Request) -> Response:
    backend = backend_of(request)
    await authorize_run(request, thread_id, run_id, "read")
    return JSONResponse(await backend.join_run(thread_id, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_stream(
    thread_id: str,
    run_id: str,
    request: Request,
    cancel_on_disconnect: bool = False,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    backend = backend_of(request)
    await authorize_run(request, thread_id, run_id, "read")
    stream = await backend.join_stream(
        thread_id,
        run_id,
        cancel_on_disconnect=cancel_on_disconnect,
        modes=stream_filter(stream_mode),
        last_event_id=last_event_id or None,
    )
    return event_stream_response(stream, settings_of(request))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(
    thread_id: str,
    run_id: str,
    request: Request,
    wait: bool = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    backend = backend_of(request)
    await authorize_run(request, thread_id, run_id, "update")
    final = await backend.cancel_run(thread_id, run_id, wait=wait, action=action)
    if not wait:
        return Response(status_code=202)
    # as LangGraph's server: 200 with the run's final values ({} when it has none)
    location = run_location(thread_id, run_id)
    return JSONResponse({} if final is None else final, headers={"Content-Location": location})
