"""Serve a copy of the seed app under uvicorn, labelling its prints by request.

``python tests/_seed_server.py APP_FILE PORT`` loads ``app`` from APP_FILE (unchanged),
wraps it in an ASGI middleware that numbers the requests in a context variable, and
replaces ``print`` so that every line says which request printed it: ``[3] Finalize ...``.
The context variable flows into every task a request starts (asyncio copies the context),
so the graph's node, wherever it runs, prints under its request's number.
"""

from __future__ import annotations

import builtins
import contextvars
import itertools
import sys
from importlib.util import module_from_spec, spec_from_file_location
from typing import Any

import uvicorn

request_number: contextvars.ContextVar[int] = contextvars.ContextVar("request", default=0)
_numbers = itertools.count(1)
_print = builtins.print


def labelled_print(*args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("flush", True)
    _print(f"[{request_number.get()}]", *args, **kwargs)


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    spec = spec_from_file_location("seed_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.app

    async def numbered(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request_number.set(next(_numbers))
        await app(scope, receive, send)

    builtins.print = labelled_print
    uvicorn.run(numbered, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
