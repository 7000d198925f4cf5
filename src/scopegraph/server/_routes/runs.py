"""``/threads/{thread_id}/runs/...`` and the stateless ``/runs/...``: create (plain,
streamed, waited for), list, get, delete, join, join the stream, cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from .._domain import run_location
from .._http import JSONResponse, event_stream_response
from .._models import RunCreate, RunStatus, stream_filter
from ._deps import BackendDep, SettingsDep

__all__ = ("router",)

router = APIRouter()


async def _create(backend: BackendDep, thread_id: str | None, body: RunCreate) -> Response:
    run = await backend.create_run(thread_id, body)
    location = run_location(run["thread_id"], run["run_id"], temporary=thread_id is None)
    return JSONResponse(run, headers={"Content-Location": location})


async def _stream(
    backend: BackendDep, settings: SettingsDep, thread_id: str | None, body: RunCreate
) -> Response:
    return event_stream_response(await backend.stream_run(thread_id, body), settings)


async def _wait(backend: BackendDep, thread_id: str | None, body: RunCreate) -> Response:
    values, location = await backend.wait_run(thread_id, body)
    return JSONResponse(values, headers={"Content-Location": location})


@router.post("/threads/{thread_id}/runs")
async def create_run(thread_id: str, body: RunCreate, backend: BackendDep) -> Response:
    return await _create(backend, thread_id, body)


@router.post("/runs")
async def create_stateless_run(body: RunCreate, backend: BackendDep) -> Response:
    return await _create(backend, None, body)


@router.post("/threads/{thread_id}/runs/stream")
async def stream_run(
    thread_id: str, body: RunCreate, backend: BackendDep, settings: SettingsDep
) -> Response:
    return await _stream(backend, settings, thread_id, body)


@router.post("/runs/stream")
async def stream_stateless_run(
    body: RunCreate, backend: BackendDep, settings: SettingsDep
) -> Response:
    return await _stream(backend, settings, None, body)


@router.post("/threads/{thread_id}/runs/wait")
async def wait_run(thread_id: str, body: RunCreate, backend: BackendDep) -> Response:
    return await _wait(backend, thread_id, body)


@router.post("/runs/wait")
async def wait_stateless_run(body: RunCreate, backend: BackendDep) -> Response:
    return await _wait(backend, None, body)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    backend: BackendDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: RunStatus | None = None,
) -> list[dict[str, Any]]:
    return await backend.list_runs(thread_id, limit, offset, status)


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: str, run_id: str, backend: BackendDep) -> dict[str, Any]:
    return await backend.get_run(thread_id, run_id)


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: str, run_id: str, backend: BackendDep) -> Response:
    await backend.delete_run(thread_id, run_id)
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: str, run_id: str, backend: BackendDep) -> Response:
    return JSONResponse(await backend.join_run(thread_id, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_stream(
    thread_id: str,
    run_id: str,
    backend: BackendDep,
    settings: SettingsDep,
    cancel_on_disconnect: bool = False,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    stream = await backend.join_stream(
        thread_id,
        run_id,
        cancel_on_disconnect=cancel_on_disconnect,
        modes=stream_filter(stream_mode),
        last_event_id=last_event_id or None,
    )
    return event_stream_response(stream, settings)


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(
    thread_id: str,
    run_id: str,
    backend: BackendDep,
    wait: bool = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    await backend.cancel_run(thread_id, run_id, wait=wait, action=action)
    return Response(status_code=204 if wait else 202)
