"""The run server: a LangGraph-SDK-compatible HTTP + SSE API for scopegraph graphs.

Needs the ``server`` extra: ``pip install 'scopegraph[server]'``.

``create_app(graphs={...}, checkpointer=...)`` returns the ASGI app (to mount in your own
FastAPI app); ``scopegraph serve file.py:graph`` serves it with uvicorn.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import orjson  # noqa: F401
    import pydantic  # noqa: F401
    import sse_starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"scopegraph.server needs the server extra ({exc.name} is missing): "
        "pip install 'scopegraph[server]'"
    ) from exc

from ._app import create_app, drain
from ._logs import JsonFormatter
from ._serve import load_graph, serve
from ._settings import ServerSettings

__all__ = ("JsonFormatter", "ServerSettings", "create_app", "drain", "load_graph", "serve")
