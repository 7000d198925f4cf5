"""What a handler gets from the app: its backend and its settings (set by ``create_app``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .._domain import Backend
from .._settings import ServerSettings

__all__ = ("BackendDep", "SettingsDep")


async def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


async def _settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


BackendDep = Annotated[Backend, Depends(_backend)]
SettingsDep = Annotated[ServerSettings, Depends(_settings)]
