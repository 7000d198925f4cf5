"""The routes of the LangGraph server API, one router per resource. Handlers live at
module level, take the app's :class:`~scopegraph.server._domain.Backend` as a dependency,
and only turn its domain objects into responses."""

from __future__ import annotations

from fastapi import APIRouter

from . import assistants, runs, system, threads

__all__ = ("ROUTERS",)

ROUTERS: tuple[APIRouter, ...] = (system.router, assistants.router, threads.router, runs.router)
