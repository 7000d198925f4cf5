"""``/metrics``: the app's Prometheus metrics (see :mod:`scopegraph.server._metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .._http import error_response
from .._metrics import CONTENT_TYPE, METRICS_MISSING, Metrics
from ._deps import backend_of, settings_of

__all__ = ("router",)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus' text format; 501 naming the extra without ``prometheus-client``, 404
    when the app's settings turn metrics off."""
    if not settings_of(request).metrics:
        return error_response(404, "NotFound", "metrics are off (ServerSettings(metrics=False))")
    wanted = request.query_params.get("format", "prometheus")
    if wanted != "prometheus":  # LangGraph's Agent Server also has format=json
        return error_response(
            422,
            "ValidationError",
            f"/metrics?format={wanted[:40]} is not supported: this server answers in "
            "Prometheus' text format only (format=prometheus, or no format)",
        )
    found: Metrics | None = request.app.state.metrics
    if found is None:
        return error_response(501, "NotImplemented", METRICS_MISSING)
    stats = await backend_of(request).stats()
    return Response(found.render(stats), media_type=CONTENT_TYPE)
