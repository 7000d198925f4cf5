"""The server's knobs (:class:`ServerSettings`), shared by the HTTP edge and the backends."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ("DefaultThreadTTL", "ServerSettings")


class DefaultThreadTTL(BaseModel):
    """The server's TTL of threads (``checkpointer.ttl`` of a ``langgraph.json``)."""

    ttl: float = Field(gt=0)
    """Minutes (LangGraph's ``default_ttl``)."""
    strategy: Literal["delete", "keep_latest"] = "delete"


class ServerSettings(BaseModel):
    """Knobs of :func:`create_app`."""

    api_key: str | None = None
    allowed_hosts: tuple[str, ...] | None = None
    """Without an API key, requests whose ``Host`` header names another host are refused
    (421), so that a web page cannot reach a loopback server through DNS rebinding.
    ``None``: no check (an app you serve yourself); ``scopegraph serve`` sets the bound
    host, ``localhost`` and loopback addresses, plus those of ``--allow-host``. ``"*"``
    allows any host. An IP address is allowed when the server listens on every address
    (``0.0.0.0`` or ``::``, given here as such)."""
    cors_origins: tuple[str, ...] = ()
    """Origins whose pages may call the API from a browser (CORS); none by default."""
    cors: dict[str, Any] | None = None
    """The keyword arguments of Starlette's ``CORSMiddleware`` (``http.cors`` of a
    ``langgraph.json``: ``allow_origins``, ``allow_methods``, ...); replaces
    ``cors_origins``."""
    max_body_bytes: int = 10 * 1024 * 1024
    heartbeat_seconds: float = 5.0
    send_timeout_seconds: float = 30.0
    shutdown_grace_seconds: float = 10.0
    shutdown_bound_seconds: float = 30.0
    """``scopegraph serve``: seconds after the grace period within which shutdown completes
    (cleanups, final writes); past them the process exits anyway, with status 1."""
    resumable_ttl_seconds: float = 300.0
    run_timeout_seconds: float | None = None
    """Runs that take longer are cancelled and end with status ``timeout`` (a run's own
    ``timeout`` field, in seconds, overrides it)."""
    webhook_loopback: bool = False
    """Allow webhooks to loopback URLs (``localhost``, ``127.0.0.1``...): refused by
    default, as LangGraph's server refuses them."""
    cron_interval_seconds: float = Field(default=5.0, gt=0)
    """How often the cron scheduler looks for crons that are due (LangGraph: 5 s)."""
    ttl_sweep_seconds: float = Field(default=300.0, gt=0)
    """How often threads whose ``ttl`` has passed are swept (deleted, or pruned to their
    latest checkpoint)."""
    ttl_sweep_limit: int = Field(default=10_000, gt=0)
    """At most this many threads are swept per round (LangGraph's ``sweep_limit``); the
    others wait for the next round."""
    thread_ttl: DefaultThreadTTL | None = None
    """The TTL of threads that do not set their own (``checkpointer.ttl`` of a
    ``langgraph.json``: ``default_ttl`` minutes, ``strategy``): given to every thread the
    server creates; each run on a thread pushes its expiry to at least that far from
    then. None: threads are kept until deleted, unless created or updated with a
    ``ttl``."""
    metrics: bool = True
    """Serve Prometheus metrics at ``/metrics`` (501 naming the extra without
    ``prometheus-client``); False: no ``/metrics`` route (404)."""
    log_format: Literal["text", "json"] = "text"
    """``json``: every request gets an id (``X-Request-ID``) and the request's run and
    thread ids go on its log lines (:mod:`scopegraph.server._logs`); ``scopegraph serve
    --log-format json`` also formats every line as JSON."""
