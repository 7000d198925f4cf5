"""The routes of the LangGraph server API, one router per resource. Handlers live at
module level, get the app's :class:`~scopegraph.server._domain.Backend` from the request
(:mod:`._deps`), and only turn its domain objects into responses."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from . import assistants, crons, metrics, protocol, runs, store, system, threads

__all__ = ("ROUTERS", "add_routes")

ROUTERS: tuple[APIRouter, ...] = (
    runs.router,
    threads.router,
    protocol.router,
    assistants.router,
    crons.router,
    store.router,
    system.router,
    metrics.router,
)
"""In the order requests are matched against them: runs first, run creation being the
hot path. No two routers share a path, so the order changes nothing else."""


def add_routes(app: FastAPI) -> None:
    """Add every router's routes to ``app``, as they are.

    The routes are copied into the app's route list, as ``include_router`` did before
    FastAPI 0.16x, rather than included: an included router is matched through a lazy
    view whose bookkeeping costs more per request than the rest of a run's creation
    (about 2 million instructions of 7, measured with callgrind on ``POST /runs/stream``).
    """
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
