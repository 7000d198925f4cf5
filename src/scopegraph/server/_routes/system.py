"""``/`` (the playground page), ``/ok`` and ``/info``."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .._http import JSONResponse
from ._deps import backend_of

__all__ = ("router",)

router = APIRouter(default_response_class=JSONResponse)


def _page() -> str:
    return resources.files("scopegraph.server").joinpath("playground.html").read_text("utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def playground() -> HTMLResponse:
    return HTMLResponse(_page())


@router.get("/ok")
async def ok(request: Request) -> dict[str, Any]:
    """200 while the server's storage takes writes, else 503 (a full disk, a lost
    database): a health check for load balancers and orchestrators."""
    await backend_of(request).check()
    return {"ok": True}


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    return backend_of(request).info()
