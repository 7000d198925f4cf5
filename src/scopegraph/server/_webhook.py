"""A run's ``webhook``: once the run has ended, its record and final state are POSTed to
the URL, as LangGraph's server does.

The request is made after the run's end is recorded and its stream has ended, in a task
of its own: it never delays nor changes the run, whatever the receiver does. It has a
connect timeout of 5 s and a whole-request timeout of 30 s, and is tried up to 3 times
(LangGraph's numbers) while the receiver cannot be reached, times out, or answers 429 or
5xx, waiting 0.5 s then 1 s (with jitter) between tries. A webhook still in flight when
its process stops is not sent again.

The body (LangGraph's): the run (``run_id``, ``thread_id``, ``assistant_id``,
``status``, ``metadata``, ``kwargs``...), ``run_started_at``, ``run_ended_at``,
``webhook_sent_at``, ``values`` (the thread's final values; None for a run that failed)
and, for a run that failed, ``error``.

As LangGraph's server by default, a webhook to the server's own machine (``localhost``, a
loopback address) or a relative URL is refused when the run is created (422): such a URL
could make the server call itself or another local service. ``scopegraph serve
--allow-loopback-webhooks`` allows loopback URLs (a receiver on the same machine).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import urllib.parse
from collections.abc import Mapping
from typing import Any

import anyio

from ._errors import InvalidRequestError
from ._wire import dumps, now_iso

__all__ = ("check_url", "deliver", "payload")

log = logging.getLogger("scopegraph.server")

ATTEMPTS = 3
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 30.0
BACKOFF = 0.5
_MAX_URL = 4096


def _loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_loopback: bool) -> None:
    """Refuse (``InvalidRequestError``) a webhook URL the server will not call."""
    if len(url) > _MAX_URL:
        raise InvalidRequestError("Webhook URL too long", code="InvalidWebhook")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidRequestError(
            f"webhook {url[:200]!r} is not an absolute http:// or https:// URL; relative "
            "URLs (a route of this server) are not called",
            code="InvalidWebhook",
        )
    if not allow_loopback and _loopback(parsed.hostname):
        raise InvalidRequestError(
            f"webhook {url[:200]!r} names this machine (a loopback address): refused, as "
            "LangGraph's server refuses it by default; start the server with "
            "--allow-loopback-webhooks to allow a receiver on this machine",
            code="InvalidWebhook",
        )


def payload(
    run: Mapping[str, Any],
    *,
    status: str,
    started_at: str | None,
    ended_at: str,
    final: Any,
) -> dict[str, Any]:
    """The body of a run's webhook (``final``: what ``join`` returns: the values, or
    ``{"__error__": ...}``)."""
    error = final.get("__error__") if isinstance(final, dict) else None
    body = {
        **run,
        "status": status,
        "run_started_at": started_at,
        "run_ended_at": ended_at,
        "values": None if error is not None else final,
    }
    if error is not None:
        body["error"] = error
    return body


async def deliver(url: str, body: dict[str, Any]) -> bool:
    """POST ``body`` to ``url`` (tries, timeouts and waits in the module docstring);
    whether the receiver took it (2xx). Never raises: a failure is logged."""
    try:
        return await _post(url, body)
    except Exception:  # a webhook never fails anything else
        log.exception("webhook %s of run %s failed", url, body.get("run_id"))
        return False


async def _post(url: str, body: dict[str, Any]) -> bool:
    import httpx

    timeout = httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT)
    async with httpx.AsyncClient(timeout=timeout) as client:
        for attempt in range(1, ATTEMPTS + 1):
            body["webhook_sent_at"] = now_iso()
            try:
                response = await client.post(
                    url, content=dumps(body), headers={"content-type": "application/json"}
                )
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return True
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    log.warning("webhook %s of run %s: %s", url, body.get("run_id"), problem)
                    return False
            if attempt < ATTEMPTS:
                await anyio.sleep(BACKOFF * 2 ** (attempt - 1) * (1 + random.random() / 4))
    log.warning(
        "webhook %s of run %s failed after %d tries: %s",
        url,
        body.get("run_id"),
        ATTEMPTS,
        problem,
    )
    return False
