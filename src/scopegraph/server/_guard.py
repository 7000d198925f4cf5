"""The guard: API key, ``Host`` header and body size, checked before any routing or
parsing; a WebSocket handshake gets the same API key and ``Host`` checks, and, as a
browser's page may open a socket to any server (no CORS there), its ``Origin`` must be
the server's own or one CORS lets call the API."""

from __future__ import annotations

import hmac
import ipaddress
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._http import error_response, refuse
from ._settings import ServerSettings

__all__ = ("Guard",)

_OPEN_PATHS = frozenset({"/", "/ok", "/openapi.json", "/docs", "/favicon.ico"})


class Guard:
    """ASGI middleware: a request without the API key (when one is set) gets 401, one
    for another host (without an API key, when ``allowed_hosts`` is set) gets 421, one
    whose body is over ``max_body_bytes`` gets 413, before the app sees it."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self._key = None if settings.api_key is None else settings.api_key.encode("utf-8")
        hosts = settings.allowed_hosts
        self._hosts = None if hosts is None or "*" in hosts else {h.lower() for h in hosts}
        self._any_ip = bool(self._hosts and self._hosts & {"0.0.0.0", "::", "[::]"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refuse(scope, receive, send, *refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        await self._with_body(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, str, str] | None:
        """(status, error, message) of a request the guard refuses, or None."""
        refusal = self._key_refusal(scope, headers)
        if refusal is not None:
            return 401, "Unauthorized", refusal
        if self._key is None and self._hosts is not None:
            host = _host_name(headers.get(b"host", b""))
            if not self._host_allowed(host):
                message = (
                    f"this server does not serve the host {host[:100]!r} (it answers for "
                    f"{sorted(self._hosts)}); start it with --allow-host {host[:100]} or "
                    "--api-key"
                )
                return 421, "MisdirectedRequest", message
        origin = headers.get(b"origin")
        if scope["type"] == "websocket" and origin is not None:
            return self._origin_refusal(origin.decode("latin-1"), headers)
        return None

    def _origin_refusal(
        self, origin: str, headers: dict[bytes, bytes]
    ) -> tuple[int, str, str] | None:
        """A browser's socket: from a page of this server or of an origin CORS allows."""
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if urlsplit(origin).netloc.lower() == host:
            return None
        cors = self.settings.cors
        origins = list(
            self.settings.cors_origins if cors is None else cors.get("allow_origins", ())
        )
        pattern = None if cors is None else cors.get("allow_origin_regex")
        if "*" in origins or origin in origins:
            return None
        if isinstance(pattern, str) and re.fullmatch(pattern, origin):
            return None
        message = (
            f"a WebSocket from a page of {origin[:100]!r}, an origin this server does not let "
            "call its API: add it to its CORS origins (--cors-origin)"
        )
        return 403, "Forbidden", message

    def _key_refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        key = self._key
        if key is None or scope["path"] in _OPEN_PATHS:
            return None
        given = headers.get(b"x-api-key")
        if given is None:
            return "missing API key: send it in the x-api-key header"
        if not hmac.compare_digest(given, key):  # in constant time
            return "wrong API key in the x-api-key header"
        return None

    def _host_allowed(self, host: str) -> bool:
        assert self._hosts is not None
        if host in self._hosts:
            return True
        if not self._any_ip:
            return False
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return True  # an address cannot be rebound to another server

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.max_body_bytes
        message = f"the request body is larger than {limit} bytes"
        await error_response(413, "PayloadTooLarge", message)(scope, receive, send)

    async def _with_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body without a (trusted) length is read here, up to the limit, then replayed."""
        limit = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _host_name(header: bytes) -> str:
    """The host of a ``Host`` header, without its port: ``[::1]:8000`` -> ``[::1]``."""
    host = header.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rpartition(":")[0] if host.count(":") == 1 else host
