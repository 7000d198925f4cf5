"""The server's knobs (:class:`ServerSettings`), shared by the HTTP edge and the backends."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ("ServerSettings",)


class ServerSettings(BaseModel):
    """Knobs of :func:`create_app`."""

    api_key: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    heartbeat_seconds: float = 5.0
    send_timeout_seconds: float = 30.0
    shutdown_grace_seconds: float = 10.0
    resumable_ttl_seconds: float = 300.0
    run_timeout_seconds: float | None = None
    """Runs that take longer are cancelled and end with status ``timeout`` (a run's own
    ``timeout`` field, in seconds, overrides it)."""
