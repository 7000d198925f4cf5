"""``/`` (the playground page), ``/ok`` and ``/info``."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ._deps import BackendDep

__all__ = ("router",)

router = APIRouter()


def _page() -> str:
    return resources.files("scopegraph.server").joinpath("playground.html").read_text("utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def playground() -> HTMLResponse:
    return HTMLResponse(_page())


@router.get("/ok")
async def ok() -> dict[str, Any]:
    return {"ok": True}


@router.get("/info")
async def info(backend: BackendDep) -> dict[str, Any]:
    return backend.info()
